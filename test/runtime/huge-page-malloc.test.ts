/**
 * The server re-executes itself once with glibc's huge-page malloc (src/runtime/huge-page-malloc.ts):
 * same process, the tunable in its environment; an operator's own setting is kept; other commands
 * are left alone. Run from source as a user would (`bun src/main.ts`); Linux only.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync, realpathSync } from "node:fs";
import { basename, join } from "node:path";
import { repoRoot } from "../support/fixtures.ts";
import { tempDir } from "../support/temp.ts";
import { isServeCommand } from "../../src/runtime/huge-page-malloc.ts";

const linux = process.platform === "linux";
if (!linux) console.warn("huge-page-malloc tests skipped: they read /proc (Linux only)");

/**
 * The environment block of `pid` as its memory holds it now: what it was exec'd with, except that
 * glibc's loader cuts GLIBC_TUNABLES at each `:` in place (NULs) while parsing it.
 */
const environOf = (pid: number) => readFileSync(`/proc/${pid}/environ`, "utf8");

async function serveAndReadEnviron(env: Record<string, string>): Promise<string> {
  const probe = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
  const port = probe.port;
  probe.stop(true);
  const child = Bun.spawn([process.execPath, join(repoRoot, "src/main.ts"), "serve"], {
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: tempDir(), ORT_DISABLE_TELEMETRY: "1", MACHINE_LEARNING_CACHE_FOLDER: tempDir(), IMMICH_HOST: "127.0.0.1", IMMICH_PORT: String(port), IMMICH_LOG_LEVEL: "error", ...env },
    stdout: "ignore",
    stderr: "ignore",
  });
  try {
    for (let i = 0; i < 200; i++) {
      const answered = await fetch(`http://127.0.0.1:${port}/ping`).then((r) => r.text(), () => undefined);
      if (answered === "pong") return environOf(child.pid); // the same pid answers: exec kept it
      await Bun.sleep(50);
    }
    throw new Error("server did not answer /ping");
  } finally {
    child.kill();
    await child.exited;
  }
}

describe.skipIf(!linux)("huge-page malloc", () => {
  test("the server runs with GLIBC_TUNABLES=glibc.malloc.hugetlb=1, in the process that was started", async () => {
    expect(await serveAndReadEnviron({})).toContain("\0GLIBC_TUNABLES=glibc.malloc.hugetlb=1\0");
  });

  test("other tunables are kept and the setting is appended", async () => {
    expect(await serveAndReadEnviron({ GLIBC_TUNABLES: "glibc.malloc.trim_threshold=1048576" })).toMatch(
      /\0GLIBC_TUNABLES=glibc\.malloc\.trim_threshold=1048576[:\0]glibc\.malloc\.hugetlb=1\0/,
    );
  });

  test("an operator's own hugetlb setting is left as it is", async () => {
    const environ = await serveAndReadEnviron({ GLIBC_TUNABLES: "glibc.malloc.hugetlb=0" });
    expect(environ).toContain("\0GLIBC_TUNABLES=glibc.malloc.hugetlb=0\0");
    expect(environ).not.toContain("hugetlb=1");
  });

  test("never twice: a process that carries the marker is not re-executed, even without GLIBC_TUNABLES", async () => {
    // What a setuid or file-capability executable looks like after its exec: glibc has removed
    // GLIBC_TUNABLES, only the marker is left.
    const environ = await serveAndReadEnviron({ IMMICH_ML_HUGE_PAGE_REEXEC: "1" });
    expect(environ).not.toContain("GLIBC_TUNABLES=");
  });

  test("the process keeps its name (the real executable, not /proc/self/exe)", async () => {
    const probe = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
    const port = probe.port;
    probe.stop(true);
    const child = Bun.spawn([process.execPath, join(repoRoot, "src/main.ts"), "serve"], {
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: tempDir(), MACHINE_LEARNING_CACHE_FOLDER: tempDir(), IMMICH_HOST: "127.0.0.1", IMMICH_PORT: String(port), IMMICH_LOG_LEVEL: "error" },
      stdout: "ignore",
      stderr: "ignore",
    });
    try {
      for (let i = 0; i < 200 && (await fetch(`http://127.0.0.1:${port}/ping`).then((r) => r.text(), () => "")) !== "pong"; i++) await Bun.sleep(50);
      expect(readFileSync(`/proc/${child.pid}/comm`, "utf8").trim()).toBe(basename(realpathSync(process.execPath)).slice(0, 15));
    } finally {
      child.kill();
      await child.exited;
    }
  });

  test("only the server is re-executed: other commands start as they are", () => {
    expect([[], ["serve"], ["serve", "--help"]].map(isServeCommand)).toEqual([true, true, true]);
    expect([["models"], ["download", "buffalo_l"], ["selftest"], ["--version"]].map(isServeCommand)).toEqual([false, false, false, false]);
  });
});
