/**
 * sharp (libvips) is loaded by the first image a request brings, not at start: a started server
 * holds none of libvips' libraries in memory until then. A top-level import of sharp anywhere on
 * the server's path would undo it. Reads the process's memory map, so Linux only.
 */
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { readFileSync } from "node:fs";
import { predict } from "../support/test-server.ts";
import { writeClipModel } from "../support/clip-cache.ts";
import { tempDir } from "../support/temp.ts";
import { startServerProcess, type ServerProcess } from "../../bench/lib.ts";

setDefaultTimeout(30_000);

const MODEL = "ViT-B-32__openai";
const onLinux = process.platform === "linux";
if (!onLinux) console.warn("[sharp-on-demand] reads /proc/<pid>/maps: skipped off Linux");

function mapsLibvips(pid: number): boolean {
  return readFileSync(`/proc/${pid}/maps`, "utf8").includes("libvips");
}

let server: ServerProcess;
beforeAll(async () => {
  if (!onLinux) return;
  const cache = tempDir();
  writeClipModel(cache, MODEL);
  server = await startServerProcess({ MACHINE_LEARNING_CACHE_FOLDER: cache, HF_HUB_OFFLINE: "1", IMMICH_LOG_LEVEL: "warn" });
});
afterAll(async () => {
  if (onLinux) await server.stop();
});

test.skipIf(!onLinux)("libvips is mapped only once an image is decoded", async () => {
  expect(mapsLibvips(server.pid)).toBe(false);
  // A search needs no decode.
  expect((await predict(server.url, { clip: { textual: { modelName: MODEL } } }, { text: "a cat" })).status).toBe(200);
  expect(mapsLibvips(server.pid)).toBe(false);
  // Refused before decoding: not an image.
  expect((await predict(server.url, { clip: { visual: { modelName: MODEL } } }, { image: new TextEncoder().encode("not an image") })).status).toBe(400);
  expect(mapsLibvips(server.pid)).toBe(false);

  const sharp: typeof import("sharp").default = require("sharp");
  const jpeg = await sharp({ create: { width: 32, height: 24, channels: 3, background: { r: 9, g: 8, b: 7 } } })
    .jpeg()
    .toBuffer();
  expect((await predict(server.url, { clip: { visual: { modelName: MODEL } } }, { image: new Uint8Array(jpeg) })).status).toBe(200);
  expect(mapsLibvips(server.pid)).toBe(true);
});
