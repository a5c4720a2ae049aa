/**
 * /ping latency while every core runs inference: starts the server as a separate process on the
 * ViT-B/32 CLIP visual stand-in (bench/cache.ts), saturates /predict with autocannon, and samples
 * /ping meanwhile. Prints the latency distribution and the predict throughput.
 *
 *   bun bench/ping-under-load.ts [--seconds 20] [--connections 4]
 */
import { availableParallelism, cpus } from "node:os";
import { startServerProcess, multipartBody, argNumber } from "./lib.ts";
import { buildBenchCache, removeBenchCache } from "./cache.ts";
import { pingUnderLoad } from "./measure.ts";

const seconds = argNumber("--seconds", 20);
const connections = argNumber("--connections", 4);
const sharp: typeof import("sharp").default = require("sharp");

const cache = buildBenchCache();

const server = await startServerProcess({ MACHINE_LEARNING_CACHE_FOLDER: cache.folder, MACHINE_LEARNING_PRELOAD__CLIP__VISUAL: "ViT-B-32__openai" });
const image = await sharp({ create: { width: 1440, height: 1080, channels: 3, background: { r: 90, g: 140, b: 30 } } })
  .jpeg()
  .toBuffer();
const { body, contentType } = multipartBody({ entries: '{"clip":{"visual":{"modelName":"ViT-B-32__openai"}}}', image });

const probe = await fetch(`${server.url}/predict`, { method: "POST", body, headers: { "content-type": contentType } });
if (!probe.ok) throw new Error(`the server refused the benchmark request: ${probe.status} ${await probe.text()}`);

const { ping, load } = await pingUnderLoad(server, [{ body, contentType }], connections, seconds);
await server.stop();
removeBenchCache(cache);

const result = {
  machine: `${cpus()[0]?.model ?? "unknown"} x${availableParallelism()}, ${process.platform}`,
  predict: load,
  ping: { samples: ping.samples, p50ms: ping.p50, p99ms: ping.p99, maxMs: ping.max },
};
console.log(JSON.stringify(result, null, 2));
