/** A second instance on a port the first one holds must fail to start, not share the port. */
import { expect, test } from "bun:test";
import { join } from "node:path";
import { repoRoot } from "../support/fixtures.ts";
import { startServeProcess } from "../support/server-process.ts";
import { tempDir } from "../support/temp.ts";

test("a second instance on the same port exits 1 saying the port is in use", async () => {
  const first = await startServeProcess();
  try {
    const port = new URL(first.url).port;
    const second = Bun.spawn([process.execPath, join(repoRoot, "src/main.ts"), "serve"], {
      env: {
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        HOME: tempDir(),
        MACHINE_LEARNING_CACHE_FOLDER: tempDir(),
        IMMICH_HOST: "127.0.0.1",
        IMMICH_PORT: port,
        IMMICH_LOG_LEVEL: "error",
      },
      stdout: "pipe",
      stderr: "pipe",
    });
    // Started with SO_REUSEPORT it would serve on: stop it so the assertion, not the test timeout, reports that.
    const killer = setTimeout(() => second.kill(), 15_000);
    const code = await second.exited;
    clearTimeout(killer);
    expect(code).toBe(1);
    expect(await new Response(second.stderr).text()).toContain(`Is port ${port} in use?`);
    expect(await fetch(`${first.url}/ping`).then((r) => r.text())).toBe("pong");
  } finally {
    await first.stop();
  }
}, 30_000);
