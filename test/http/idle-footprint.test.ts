/**
 * An idle server stays small: onnxruntime is loaded by the first inference thread, not by the
 * main thread at start-up (or by /health); /health says so with `providers: null`. Run from
 * source as its own process, as a user starts it; Linux only (reads /proc/<pid>/maps).
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { startServeProcess } from "../support/server-process.ts";

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
});
