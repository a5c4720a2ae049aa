/**
 * `npm run soak`: a long mixed load (CLIP image and text requests, as an Immich library scan plus
 * searches) against the service running as its own process, sampling RSS (from /health) and
 * latency every few seconds. After a warm-up, RSS must stay flat: the growth of its floor from the
 * first to the last third of the measured part is reported against a 5 % target. Exits 1 above it
 * or on any failed request.
 *
 *   bun scripts/soak.ts [--minutes 20] [--connections 4] [--sample-seconds 5] [--warmup-seconds <20 % of the run>]
 */
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { argNumber, multipartBody, percentile, startServerProcess } from "../bench/lib.ts";
import { writeClipModel } from "../test/support/clip-cache.ts";
import { heavyVisualModel } from "../test/support/onnx-builder.ts";
import { tempDir } from "../test/support/temp.ts";

const minutes = argNumber("--minutes", 20);
const connections = argNumber("--connections", 4);
const sampleSeconds = argNumber("--sample-seconds", 5);
const warmUpSeconds = argNumber("--warmup-seconds", Math.max(sampleSeconds * 3, minutes * 60 * 0.2));
const GROWTH_TARGET = 0.05;
const MODEL = "ViT-B-32__openai";
const sharp: typeof import("sharp").default = require("sharp");

// A CLIP model whose image tower costs real compute (6 dense layers), so images dominate the load.
const cache = tempDir("immich-ml-soak-");
writeFileSync(join(writeClipModel(cache, MODEL), "visual", "model.onnx"), heavyVisualModel());
const server = await startServerProcess({
  MACHINE_LEARNING_CACHE_FOLDER: cache,
  MACHINE_LEARNING_PRELOAD__CLIP__TEXTUAL: MODEL,
  MACHINE_LEARNING_PRELOAD__CLIP__VISUAL: MODEL,
  HF_HUB_OFFLINE: "1",
  IMMICH_LOG_LEVEL: "warn",
});

/** Photos of the sizes and formats Immich sends (its previews are 1440 px JPEG, or WebP). */
async function photo(width: number, height: number, format: "jpeg" | "webp" | "png", seed: number): Promise<Buffer> {
  const pixels = Buffer.alloc(width * height * 3);
  for (let i = 0; i < pixels.length; i++) pixels[i] = (i * seed + Math.floor(i / (width * 3)) * 31) & 0xff;
  return sharp(pixels, { raw: { width, height, channels: 3 } }).toFormat(format).toBuffer();
}
const images = await Promise.all([
  photo(1440, 1080, "jpeg", 7),
  photo(1080, 1440, "jpeg", 11),
  photo(1440, 960, "webp", 13),
  photo(640, 480, "png", 17),
  photo(320, 240, "jpeg", 19),
]);
const queries = ["a photo of a cat", "dog on the beach", "test search query", "sunset", "a photo of a dog in the snow with friends"];
const imageEntries = JSON.stringify({ clip: { visual: { modelName: MODEL } } });
const textEntries = JSON.stringify({ clip: { textual: { modelName: MODEL, options: { language: "en" } } } });
const requests = [
  ...images.map((image) => ({ kind: "image", ...multipartBody({ entries: imageEntries, image }) })),
  ...queries.map((text) => ({ kind: "text", ...multipartBody({ entries: textEntries, text }) })),
];

interface Completed {
  kind: string;
  ms: number;
  ok: boolean;
}
let window: Completed[] = [];
let failures = 0;
const deadline = Date.now() + minutes * 60_000;

async function client(id: number): Promise<void> {
  // 7 images for every 3 queries, each client starting elsewhere in the cycle.
  for (let n = id; Date.now() < deadline; n++) {
    const request = requests[n % 10 < 7 ? n % images.length : images.length + (n % queries.length)]!;
    const started = performance.now();
    let ok = false;
    try {
      const res = await fetch(`${server.url}/predict`, {
        method: "POST",
        body: request.body,
        headers: { "content-type": request.contentType },
        signal: AbortSignal.timeout(30_000),
      });
      await res.arrayBuffer();
      ok = res.status === 200;
    } catch {
      ok = false;
    }
    if (!ok) failures++;
    window.push({ kind: request.kind, ms: performance.now() - started, ok });
  }
}

interface Sample {
  second: number;
  /** Lowest and highest RSS seen in the window (read twice a second). */
  rssFloorMiB: number;
  rssPeakMiB: number;
  requests: number;
  imageP50: number;
  imageP99: number;
  textP50: number;
  textP99: number;
}
const samples: Sample[] = [];
const started = Date.now();
const rssMiB = async () => ((await (await fetch(`${server.url}/health`)).json()) as { rssBytes: number }).rssBytes / 2 ** 20;

async function sampler(): Promise<void> {
  while (Date.now() < deadline) {
    const windowEnd = Math.min(Date.now() + sampleSeconds * 1000, deadline);
    const rss: number[] = [];
    while (Date.now() < windowEnd) {
      rss.push(await rssMiB());
      await Bun.sleep(Math.min(500, Math.max(0, windowEnd - Date.now())));
    }
    const done = window;
    window = [];
    const ms = (kind: string) => done.filter((c) => c.kind === kind).map((c) => c.ms);
    const sample: Sample = {
      second: Math.round((Date.now() - started) / 1000),
      rssFloorMiB: Math.min(...rss),
      rssPeakMiB: Math.max(...rss),
      requests: done.length,
      imageP50: percentile(ms("image"), 50),
      imageP99: percentile(ms("image"), 99),
      textP50: percentile(ms("text"), 50),
      textP99: percentile(ms("text"), 99),
    };
    samples.push(sample);
    const f = (v: number) => v.toFixed(1).padStart(7);
    console.error(
      `${String(sample.second).padStart(5)} s  rss floor/peak ${f(sample.rssFloorMiB)}/${f(sample.rssPeakMiB)} MiB  ${String(sample.requests).padStart(4)} req  ` +
        `image p50/p99 ${f(sample.imageP50)}/${f(sample.imageP99)} ms  text p50/p99 ${f(sample.textP50)}/${f(sample.textP99)} ms`,
    );
  }
}

await Promise.all([sampler(), ...Array.from({ length: connections }, (_, i) => client(i * 3))]);
await server.stop();
rmSync(cache, { recursive: true, force: true });

// RSS swings by tens of MiB with the garbage collector's timing (dead image buffers wait for it),
// so growth is judged on each window's floor, the memory actually kept, comparing the medians of
// the first and the last third of the measured windows rather than two single readings.
const measured = samples.filter((s) => s.second > warmUpSeconds);
const third = Math.max(1, Math.floor(measured.length / 3));
const first = measured.slice(0, third);
const last = measured.slice(-third);
const median = (values: number[]) => percentile(values, 50);
const startRss = median(first.map((s) => s.rssFloorMiB));
const endRss = median(last.map((s) => s.rssFloorMiB));
const growth = (endRss - startRss) / startRss;
const totalRequests = samples.reduce((n, s) => n + s.requests, 0);
const report = {
  minutes,
  connections,
  warmUpSeconds,
  requests: totalRequests,
  failedRequests: failures,
  rssFloorMiB: {
    firstWindow: Number(samples[0]?.rssFloorMiB.toFixed(1)),
    afterWarmUp: Number(startRss.toFixed(1)),
    end: Number(endRss.toFixed(1)),
  },
  rssPeakMiB: Number(Math.max(...measured.map((s) => s.rssPeakMiB)).toFixed(1)),
  growthAfterWarmUp: `${(growth * 100).toFixed(1)} %`,
  latencyMs: {
    imageP50AfterWarmUp: Number(median(first.map((s) => s.imageP50)).toFixed(1)),
    imageP50End: Number(median(last.map((s) => s.imageP50)).toFixed(1)),
    imageP99End: Number(median(last.map((s) => s.imageP99)).toFixed(1)),
    textP50AfterWarmUp: Number(median(first.map((s) => s.textP50)).toFixed(1)),
    textP50End: Number(median(last.map((s) => s.textP50)).toFixed(1)),
    textP99End: Number(median(last.map((s) => s.textP99)).toFixed(1)),
  },
  verdict: growth < GROWTH_TARGET && failures === 0 && measured.length >= 6 ? "pass" : "fail",
};
console.log(JSON.stringify(report, null, 2));
process.exit(report.verdict === "pass" ? 0 : 1);
