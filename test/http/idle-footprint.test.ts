/**
 * An idle server stays small: onnxruntime is loaded by the first inference thread, not by the
 * main thread at start-up (or by /health); /health says so with `providers: null`. And it stays
 * quiet: its HTTP thread sleeps instead of waking on a short timer, which under load takes a core
 * from inference (metrics.ts). Run from source as its own process, as a user starts it; Linux
 * only (reads /proc).
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { startServeProcess } from "../support/server-process.ts";

/** The HTTP thread's context switches so far (each one a wake-up, or a preemption). */
function contextSwitches(pid: number): number {
  const status = readFileSync(`/proc/${pid}/task/${pid}/status`, "utf8");
  const count = (field: string) => Number(new RegExp(`\\n${field}:\\s+(\\d+)`).exec(status)![1]);
  return count("voluntary_ctxt_switches") + count("nonvoluntary_ctxt_switches");
}

const linux = process.platform === "linux";
if (!linux) console.warn("idle-footprint test skipped: it reads /proc (Linux only)");

describe.skipIf(!linux)("idle footprint", () => {
  test("an idle server has not loaded onnxruntime, and /health does not load it", async () => {
    const server = await startServeProcess();
    try {
      const health = (await (await fetch(`${server.url}/health`)).json()) as { providers: unknown; loadedModels: unknown[] };
      expect(health).toMatchObject({ providers: null, loadedModels: [] });
      const maps = readFileSync(`/proc/${server.pid}/maps`, "utf8");
      expect(maps).not.toContain("onnxruntime");
      expect(maps).toContain("sharp"); // the check can see a native library when one is loaded
    } finally {
      await server.stop();
    }
  });

  test("an idle server's HTTP thread wakes a few times a second, not on a 10 ms timer", async () => {
    const server = await startServeProcess();
    try {
      const before = contextSwitches(server.pid);
      await Bun.sleep(2000);
      // Measured: 11-15 in 2 s; with prom-client's default 10 ms event-loop monitor, 207-210.
      expect(contextSwitches(server.pid) - before).toBeLessThan(60);
    } finally {
      await server.stop();
    }
  });
});
