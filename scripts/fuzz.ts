/**
 * `npm run fuzz`: thousands of generated hostile requests against the service running as its own
 * process (127.0.0.1, stand-in CLIP model), to show that bad input only ever earns a clear 4xx.
 * Reports cases run, the status histogram, every wrong answer (5xx included), whether the process
 * survived (and still answers /ping), the slowest /ping during the run, the size of /metrics at
 * the end, and RSS at rest before, after a warm-up tenth and at the end.
 * Exits 1 on any wrong answer, a crash, a /ping slower than MAX_PING_MS, /metrics past
 * MAX_METRICS_BYTES (made-up model names must not grow it), RSS growing past MAX_RSS_GROWTH, or a
 * run cut short by the time limit.
 *
 *   bun scripts/fuzz.ts [--cases 5000] [--seed 1] [--from 0] [--concurrency 4] [--seconds 600]
 *
 * Case i of a seed is always the same request: `--seed S --from i --cases 1` replays one.
 */
import { rmSync } from "node:fs";
import { argNumber, startServerProcess } from "../bench/lib.ts";
import { writeClipModel } from "../test/support/clip-cache.ts";
import { tempDir } from "../test/support/temp.ts";
import { buildImageCorpus } from "../test/support/fuzz/image-corpus.ts";
import { FuzzCases } from "../test/support/fuzz/cases.ts";
import { sendCase } from "../test/support/fuzz/send.ts";

const caseCount = argNumber("--cases", 5000);
const seed = argNumber("--seed", 1);
const first = argNumber("--from", 0);
const concurrency = argNumber("--concurrency", 4);
const seconds = argNumber("--seconds", 600);
const MODEL = "ViT-B-32__openai";
const MAX_BODY_BYTES = 2 * 1024 * 1024; // small, so over-limit cases stay cheap; a 1 MB query still fits
/**
 * Allowed growth of RSS at rest from after warm-up to the end. Allocator and cache plateaus stay
 * well under it (+9 MiB after 5,000 cases, +13 MiB after 30,000); a per-request leak would not.
 */
const MAX_RSS_GROWTH = 0.2;
/** The Immich server marks the service unhealthy when /ping takes 2 s. */
const MAX_PING_MS = 2000;
/** /metrics of a fresh service is about 10 kB; every label set it may grow is bounded. */
const MAX_METRICS_BYTES = 256 * 1024;

const cache = tempDir("immich-ml-fuzz-");
writeClipModel(cache, MODEL);
const server = await startServerProcess({
  MACHINE_LEARNING_CACHE_FOLDER: cache,
  MACHINE_LEARNING_MAX_BODY_BYTES: String(MAX_BODY_BYTES),
  MACHINE_LEARNING_MAX_IMAGE_PIXELS: "50000000",
  MACHINE_LEARNING_PRELOAD__CLIP__TEXTUAL: MODEL,
  MACHINE_LEARNING_PRELOAD__CLIP__VISUAL: MODEL,
  HF_HUB_OFFLINE: "1",
  IMMICH_LOG_LEVEL: "warn",
});
let exitCode: number | undefined;
void server.exited.then((code) => (exitCode = code));

const rss = async (): Promise<number> => ((await (await fetch(`${server.url}/health`)).json()) as { rssBytes: number }).rssBytes;
let slowestPingMs = 0;
const pingOk = async (): Promise<boolean> => {
  const sent = performance.now();
  try {
    const res = await fetch(`${server.url}/ping`, { signal: AbortSignal.timeout(5000) });
    return res.status === 200 && (await res.text()) === "pong";
  } catch {
    return false;
  } finally {
    slowestPingMs = Math.max(slowestPingMs, performance.now() - sent);
  }
};

/** RSS once the idle service has collected its garbage and trimmed its heap (it does so after 1 s idle). */
async function settledRss(): Promise<number> {
  await Bun.sleep(3000);
  return rss();
}

const cases = FuzzCases.create(seed, { modelName: MODEL, maxBodyBytes: MAX_BODY_BYTES }, await buildImageCorpus());
const histogram = new Map<string, number>();
const problems: string[] = [];
const deadline = performance.now() + seconds * 1000;
const rssUnderLoad: number[] = [];
let ran = 0;
let next = first;
let pingFailures = 0;

async function worker(end: number): Promise<void> {
  while (next < end && performance.now() < deadline && exitCode === undefined) {
    const fuzzCase = cases.at(next++);
    const outcome = await sendCase(server.url, fuzzCase);
    ran++;
    histogram.set(String(outcome.status), (histogram.get(String(outcome.status)) ?? 0) + 1);
    if (outcome.problem) problems.push(`case ${fuzzCase.index} [${fuzzCase.family}: ${fuzzCase.label.slice(0, 80)}] ${outcome.problem}`);
    // A hung event loop would not crash the process: check it still answers as the run goes.
    if (ran % 250 === 0) {
      if (!(await pingOk())) pingFailures++;
      rssUnderLoad.push(await rss());
    }
  }
}
const runUntil = (end: number) => Promise.all(Array.from({ length: concurrency }, () => worker(end)));

// Memory is compared at rest, after the first tenth (which warms caches, JIT and allocator) and
// at the end: readings under load swing by tens of MiB with the garbage collector's timing.
const started = performance.now();
const rssStart = await rss();
await runUntil(first + Math.ceil(caseCount / 10));
const rssAfterWarmUp = exitCode === undefined ? await settledRss() : NaN;
await runUntil(first + caseCount);
const elapsed = (performance.now() - started) / 1000;
const rssEnd = exitCode === undefined ? await settledRss() : NaN;
const alive = exitCode === undefined && (await pingOk());
const metricsBytes = alive ? (await (await fetch(`${server.url}/metrics`)).arrayBuffer()).byteLength : NaN;
await server.stop();
const shutdownExitCode = await server.exited;
rmSync(cache, { recursive: true, force: true });

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
const serverErrors = [...histogram].filter(([status]) => Number(status) >= 500).reduce((sum, [, n]) => sum + n, 0);
const crashes = (alive ? 0 : 1) + pingFailures;
const report = {
  seed,
  casesRun: ran,
  casesAsked: caseCount,
  seconds: Number(elapsed.toFixed(1)),
  statuses: Object.fromEntries([...histogram].sort()),
  serverErrors,
  wrongAnswers: problems.length,
  crashes,
  slowestPingMs: Math.round(slowestPingMs),
  metricsBytes,
  exitCodeAfterSigterm: alive ? shutdownExitCode : null,
  rss: {
    start: mib(rssStart),
    afterWarmUp: mib(rssAfterWarmUp),
    end: mib(rssEnd),
    growthAfterWarmUp: `${(((rssEnd - rssAfterWarmUp) / rssAfterWarmUp) * 100).toFixed(1)} %`,
    peakUnderLoad: mib(Math.max(...rssUnderLoad)),
  },
};
for (const problem of problems.slice(0, 50)) console.error(problem);
if (problems.length > 50) console.error(`… and ${problems.length - 50} more`);
console.log(JSON.stringify(report, null, 2));
const leaked = !(rssEnd <= rssAfterWarmUp * (1 + MAX_RSS_GROWTH));
if (leaked) console.error(`RSS at rest grew by more than ${MAX_RSS_GROWTH * 100} % after warm-up: a leak?`);
const slowPing = slowestPingMs > MAX_PING_MS;
if (slowPing) console.error(`/ping took ${Math.round(slowestPingMs)} ms (limit ${MAX_PING_MS} ms)`);
const bloatedMetrics = !(metricsBytes <= MAX_METRICS_BYTES);
if (bloatedMetrics) console.error(`/metrics is ${metricsBytes} bytes (limit ${MAX_METRICS_BYTES}): labels from client input?`);
const failed = problems.length > 0 || crashes > 0 || ran < caseCount || leaked || slowPing || bloatedMetrics;
if (ran < caseCount && alive) console.error(`stopped after ${ran} of ${caseCount} cases: the ${seconds} s limit was reached`);
process.exit(failed ? 1 : 0);
