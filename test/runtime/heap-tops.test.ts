/**
 * glibc's trim threshold while the service decodes (src/runtime/allocator.ts `fixMallocThresholds`):
 * memory freed at the top of a heap stays for the next decode while requests come, and goes back
 * to the OS again once the service goes idle; an operator's own threshold is left alone. Measured
 * as the resident memory of a process of its own (support/heap-top-probe.ts). Linux with glibc only.
 */
import { describe, expect, test } from "bun:test";
import { join } from "node:path";

const linux = process.platform === "linux";
if (!linux) console.warn("heap-top tests skipped: they need glibc and /proc (Linux only)");

/** Megabytes of a freed 6 MiB block handed back at start, after a decode, after an idle release. */
function probe(env: Record<string, string> = {}): { atStart: number; afterDecode: number; afterRelease: number } {
  const run = Bun.spawnSync([process.execPath, join(import.meta.dir, "../support/heap-top-probe.ts")], { env: { ...process.env, ...env } });
  if (run.exitCode !== 0) throw new Error(`heap-top probe failed: ${run.stderr.toString()}`);
  return JSON.parse(run.stdout.toString());
}

describe.skipIf(!linux)("heap tops", () => {
  test("kept for the next large block after a decode, handed back before it and after the idle release", () => {
    const mb = probe();
    expect(mb.atStart).toBeGreaterThan(5);
    expect(mb.afterDecode).toBeLessThan(1);
    expect(mb.afterRelease).toBeGreaterThan(5);
  });

  test("an operator's MALLOC_TRIM_THRESHOLD_ is left as it is", () => {
    expect(probe({ MALLOC_TRIM_THRESHOLD_: "131072" }).afterDecode).toBeGreaterThan(5);
  });

  test("an operator's trim threshold in GLIBC_TUNABLES is left as it is", () => {
    expect(probe({ GLIBC_TUNABLES: "glibc.malloc.trim_threshold=131072" }).afterDecode).toBeGreaterThan(5);
  });
});
