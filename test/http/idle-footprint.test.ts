/**
 * An idle server stays small: onnxruntime is loaded by the first inference thread, not by the
 * main thread at start-up (or by /health); /health says so with `providers: null`. sharp (libvips)
 * is loaded by the first photo decoded, not by a search or a refused non-image. And it stays
 * quiet: its HTTP thread sleeps instead of waking on a short timer, which under load takes a core
 * from inference (metrics.ts). Run from source as its own process, as a user starts it; Linux
 * only (reads /proc).
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { startServeProcess } from "../support/server-process.ts";
import { writeClipModel } from "../support/clip-cache.ts";
import { predict } from "../support/test-server.ts";
import { tempDir } from "../support/temp.ts";

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
      expect(maps).not.toContain("libvips");
      expect(maps).toContain("libc.so"); // the check can see a native library when one is loaded
    } finally {
      await server.stop();
    }
  });

  test("libvips is mapped only once a photo is decoded", async () => {
    const model = "ViT-B-32__openai";
    const cache = tempDir();
    writeClipModel(cache, model);
    const server = await startServeProcess({ MACHINE_LEARNING_CACHE_FOLDER: cache, HF_HUB_OFFLINE: "1" });
    const libvipsMapped = () => readFileSync(`/proc/${server.pid}/maps`, "utf8").includes("libvips");
    const visual = { clip: { visual: { modelName: model } } };
    try {
      expect((await predict(server.url, { clip: { textual: { modelName: model } } }, { text: "a cat" })).status).toBe(200);
      expect(libvipsMapped()).toBe(false);
      expect((await predict(server.url, visual, { image: new TextEncoder().encode("not an image") })).status).toBe(400);
      expect(libvipsMapped()).toBe(false);
      const sharp: typeof import("sharp").default = require("sharp");
      const jpeg = await sharp({ create: { width: 32, height: 24, channels: 3, background: { r: 9, g: 8, b: 7 } } })
        .jpeg()
        .toBuffer();
      expect((await predict(server.url, visual, { image: new Uint8Array(jpeg) })).status).toBe(200);
      expect(libvipsMapped()).toBe(true);
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
