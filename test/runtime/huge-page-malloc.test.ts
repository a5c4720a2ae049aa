/**
 * The server re-executes itself once with glibc's huge-page malloc (src/runtime/huge-page-malloc.ts):
 * same process, the tunable in its environment; an operator's own setting is kept; other commands
 * are left alone. Run from source as a user would (`bun src/main.ts`); Linux only.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync, realpathSync } from "node:fs";
import { basename } from "node:path";
import { startServeProcess } from "../support/server-process.ts";
import { isServeCommand } from "../../src/runtime/huge-page-malloc.ts";

const linux = process.platform === "linux";
if (!linux) console.warn("huge-page-malloc tests skipped: they read /proc (Linux only)");

/**
 * The environment block of `pid` as its memory holds it now: what it was exec'd with, except that
 * glibc's loader cuts GLIBC_TUNABLES at each `:` in place (NULs) while parsing it.
 */
const environOf = (pid: number) => readFileSync(`/proc/${pid}/environ`, "utf8");

/** Starts the server and reads its environment once it answers (the same pid: exec keeps it). */
async function serveAndReadEnviron(env: Record<string, string>): Promise<string> {
  const server = await startServeProcess(env);
  try {
    return environOf(server.pid);
  } finally {
    await server.stop();
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
    const server = await startServeProcess();
    try {
      expect(readFileSync(`/proc/${server.pid}/comm`, "utf8").trim()).toBe(basename(realpathSync(process.execPath)).slice(0, 15));
    } finally {
      await server.stop();
    }
  });

  test("only the server is re-executed: other commands start as they are", () => {
    expect([[], ["serve"], ["serve", "--help"]].map(isServeCommand)).toEqual([true, true, true]);
    expect([["models"], ["download", "buffalo_l"], ["selftest"], ["--version"]].map(isServeCommand)).toEqual([false, false, false, false]);
  });
});
