/**
 * An idle server stays small: onnxruntime is loaded by the first inference thread, not by the
 * main thread at start-up (or by /health); /health says so with `providers: null`. Run from
 * source as its own process, as a user starts it; Linux only (reads /proc/<pid>/maps).
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "../support/fixtures.ts";
import { tempDir } from "../support/temp.ts";

const linux = process.platform === "linux";
if (!linux) console.warn("idle-footprint test skipped: it reads /proc (Linux only)");

describe.skipIf(!linux)("idle footprint", () => {
  test("an idle server has not loaded onnxruntime, and /health does not load it", async () => {
    const probe = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
    const port = probe.port;
    probe.stop(true);
    const child = Bun.spawn([process.execPath, join(repoRoot, "src/main.ts"), "serve"], {
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: tempDir(), ORT_DISABLE_TELEMETRY: "1", MACHINE_LEARNING_CACHE_FOLDER: tempDir(), IMMICH_HOST: "127.0.0.1", IMMICH_PORT: String(port), IMMICH_LOG_LEVEL: "error" },
      stdout: "ignore",
      stderr: "ignore",
    });
    try {
      let health: { providers: unknown; loadedModels: unknown[] } | undefined;
      for (let i = 0; i < 200 && !health; i++) {
        health = await fetch(`http://127.0.0.1:${port}/health`).then((r) => r.json() as Promise<typeof health>, () => undefined);
        if (!health) await Bun.sleep(50);
      }
      expect(health).toMatchObject({ providers: null, loadedModels: [] });
      const maps = readFileSync(`/proc/${child.pid}/maps`, "utf8");
      expect(maps).not.toContain("onnxruntime");
      expect(maps).toContain("sharp"); // the check can see a native library when one is loaded
    } finally {
      child.kill();
      await child.exited;
    }
  });
});
