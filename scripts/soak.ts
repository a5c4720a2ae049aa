/**
 * `npm run soak`: a long Immich-like load against the service running as its own process: every
 * library asset (a real 1440 px preview, or a 16-face group photo) gets a CLIP image, a faces and an
 * OCR request, as Immich's three jobs send them, with a search query between assets. Models as in
 * `npm run bench` (ViT-B/32-sized CLIP stand-ins, the fixture face and OCR models), so all six are
 * loaded together. Samples RSS (from /health) and latency every few seconds. After a warm-up, RSS
 * must stay flat: the growth of its floor from the first to the last third of the measured part is
 * reported against a 5 % target. Exits 1 above it or on any failed request.
 *
 *   bun scripts/soak.ts [--minutes 20] [--connections 4] [--sample-seconds 5] [--warmup-seconds <20 % of the run>]
 */
import { argNumber, percentile, startServerProcess, type LoadRequest } from "../bench/lib.ts";
import { buildBenchCache, CLIP_MODEL, FACE_MODEL_BATCHED, removeBenchCache } from "../bench/cache.ts";
import { faceGrid, fixturePreview } from "../bench/photos.ts";
import { entries, post } from "../bench/scenarios.ts";

const minutes = argNumber("--minutes", 20);
const connections = argNumber("--connections", 4);
const sampleSeconds = argNumber("--sample-seconds", 5);
const warmUpSeconds = argNumber("--warmup-seconds", Math.max(sampleSeconds * 3, minutes * 60 * 0.2));
const GROWTH_TARGET = 0.05;
const KINDS = ["clip-image", "faces", "ocr", "clip-text"] as const;
type Kind = (typeof KINDS)[number];

const cache = buildBenchCache();
const server = await startServerProcess({
  MACHINE_LEARNING_CACHE_FOLDER: cache.folder,
  HF_HUB_OFFLINE: "1",
  IMMICH_LOG_LEVEL: "warn",
});

const assets = await Promise.all([...["scenetext01.jpg", "scenetext03.jpg", "messi5.jpg", "robin.jpg"].map(fixturePreview), faceGrid(4, 4)]);
const queries = ["a photo of a cat", "dog on the beach", "test search query", "sunset", "a photo of a dog in the snow with friends"];
/** One asset's three jobs and a search, in turn: `[kind, request]`. */
const cycle: Array<[Kind, LoadRequest]> = assets.flatMap(
  (image, i): Array<[Kind, LoadRequest]> => [
    ["clip-image", post(entries.clipImage, { image })],
    ["faces", post(entries.faces(FACE_MODEL_BATCHED), { image })],
    ["ocr", post(entries.ocr, { image })],
    ["clip-text", post({ clip: { textual: { modelName: CLIP_MODEL, options: { language: "en" } } } }, { text: queries[i]! })],
  ],
);

interface Completed {
  kind: Kind;
  ms: number;
  ok: boolean;
}
let window: Completed[] = [];
let failures = 0;
/** Why requests failed (status or error), counted, so a failed soak says what went wrong. */
const failureReasons = new Map<string, number>();
const deadline = Date.now() + minutes * 60_000;

async function client(id: number): Promise<void> {
  // Each client starts elsewhere in the cycle, so the kinds overlap as a library scan's jobs do.
  for (let n = id; Date.now() < deadline; n++) {
    const [kind, request] = cycle[n % cycle.length]!;
    const started = performance.now();
    let ok = false;
    let reason = "";
    try {
      const res = await fetch(`${server.url}/predict`, {
        method: "POST",
        body: request.body,
        headers: { "content-type": request.contentType },
        signal: AbortSignal.timeout(30_000),
      });
      const body = await res.text();
      ok = res.status === 200;
      if (!ok) reason = `${kind}: ${res.status} ${body.slice(0, 120)}`;
    } catch (error) {
      ok = false;
      reason = `${kind}: ${error instanceof Error ? `${error.name} ${error.message}` : String(error)}`;
    }
    if (!ok) {
      failures++;
      failureReasons.set(reason, (failureReasons.get(reason) ?? 0) + 1);
    }
    window.push({ kind, ms: performance.now() - started, ok });
  }
}

interface Sample {
  second: number;
  /** Lowest and highest RSS seen in the window (read twice a second). */
  rssFloorMiB: number;
  rssPeakMiB: number;
  requests: number;
  /** p50 and p99 ms per kind in the window. */
  latency: Record<Kind, { p50: number; p99: number }>;
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
    const latency = Object.fromEntries(
      KINDS.map((kind) => {
        const ms = done.filter((c) => c.kind === kind).map((c) => c.ms);
        return [kind, { p50: percentile(ms, 50), p99: percentile(ms, 99) }];
      }),
    ) as Sample["latency"];
    const sample: Sample = {
      second: Math.round((Date.now() - started) / 1000),
      rssFloorMiB: Math.min(...rss),
      rssPeakMiB: Math.max(...rss),
      requests: done.length,
      latency,
    };
    samples.push(sample);
    const f = (v: number) => v.toFixed(0).padStart(5);
    const kinds = KINDS.map((kind) => `${kind} ${f(latency[kind].p50)}/${f(latency[kind].p99)}`).join("  ");
    console.error(
      `${String(sample.second).padStart(5)} s  rss floor/peak ${f(sample.rssFloorMiB)}/${f(sample.rssPeakMiB)} MiB  ${String(sample.requests).padStart(4)} req  p50/p99 ms: ${kinds}`,
    );
  }
}

await Promise.all([sampler(), ...Array.from({ length: connections }, (_, i) => client(i * 3))]);
await server.stop();
removeBenchCache(cache);

// RSS swings by tens of MiB with the garbage collector's timing (dead image buffers wait for it),
// so growth is judged on each window's floor, the memory actually kept, comparing the medians of
// the first and the last third of the measured windows rather than two single readings.
const measured = samples.filter((s) => s.second > warmUpSeconds);
const third = Math.max(1, Math.floor(measured.length / 3));
const first = measured.slice(0, third);
const last = measured.slice(-third);
// A window without a request of some kind has no percentile for it (NaN): left out.
const median = (values: number[]) =>
  percentile(
    values.filter((value) => !Number.isNaN(value)),
    50,
  );
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
  failureReasons: Object.fromEntries(failureReasons),
  rssFloorMiB: {
    firstWindow: Number(samples[0]?.rssFloorMiB.toFixed(1)),
    afterWarmUp: Number(startRss.toFixed(1)),
    end: Number(endRss.toFixed(1)),
  },
  rssPeakMiB: Number(Math.max(...measured.map((s) => s.rssPeakMiB)).toFixed(1)),
  growthAfterWarmUp: `${(growth * 100).toFixed(1)} %`,
  // Medians over the first and last thirds of each window's p50 and p99, per kind.
  latencyMs: Object.fromEntries(
    KINDS.map((kind) => [
      kind,
      {
        p50AfterWarmUp: Number(median(first.map((s) => s.latency[kind].p50)).toFixed(1)),
        p50End: Number(median(last.map((s) => s.latency[kind].p50)).toFixed(1)),
        p99End: Number(median(last.map((s) => s.latency[kind].p99)).toFixed(1)),
      },
    ]),
  ),
  verdict: growth < GROWTH_TARGET && failures === 0 && measured.length >= 6 ? "pass" : "fail",
};
console.log(JSON.stringify(report, null, 2));
process.exit(report.verdict === "pass" ? 0 : 1);
