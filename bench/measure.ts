/**
 * The measurements, each taken against its floors in the same run: sequential latency (service
 * request, old floor plan and plain floor request in alternation, so that a noisy machine slows
 * all alike), the floor's back-to-back rate, the service at saturation (autocannon) with the
 * server's stage timers read before and after, and /ping under the same load in a window of its own.
 */
import { resolve } from "node:path";
import type { FloorProcess } from "./floor-client.ts";
import type { PlainFloor, Runtime } from "./plain-floor-client.ts";
import { autocannonRun, percentile, runAutocannon, summarizeRuns, type LoadRequest, type LoadResult, type ServerProcess } from "./lib.ts";
import type { Scenario } from "./scenarios.ts";
import { stageGrowth, stageProfile, stageTotals, type StageProfile } from "./stage-profile.ts";

export interface Latency {
  p50: number;
  p99: number;
}

export const summarize = (samples: number[]): Latency => ({ p50: percentile(samples, 50), p99: percentile(samples, 99) });

/**
 * Rounds of a scenario's requests sent before measuring it: the JIT compiles a kernel over its
 * first calls, which run 2-4x slower (OCR: 480 ms for each of the first three requests, 225 ms
 * from the sixth), as a session's first runs are slow.
 */
const SERVICE_WARM_UP_REQUESTS = 8;

export async function postRequest(url: string, request: LoadRequest): Promise<void> {
  const response = await fetch(`${url}/predict`, { method: "POST", body: request.body, headers: { "content-type": request.contentType } });
  const text = await response.text();
  if (!response.ok) throw new Error(`/predict answered ${response.status}: ${text.slice(0, 300)}`);
}

/** Brings the service to its steady state for `requests` (a scenario's), one after the other. */
export async function warmUpService(url: string, requests: readonly LoadRequest[]): Promise<void> {
  for (let i = 0; i < SERVICE_WARM_UP_REQUESTS; i++) for (const request of requests) await postRequest(url, request);
}

/** One model's runs per request, floor and service. */
export interface ModelRuns {
  model: string;
  floorMs: number;
  serviceMs: number;
  serviceRuns: number;
  /**
   * Where the service splits a lone request's batch into `parts` runs side by side on its idle
   * inference threads: the plain floor's batch in `parts` shares as equal as can be, run side by
   * side on one plain process per inference thread (`PlainFloor.split`), summed. Two runs side by
   * side each run slower than one alone (they share the caches and the memory bus), a cost no
   * runtime can avoid; this tells it apart from the service's own.
   */
  split?: { parts: number; floorMs: number };
}

export interface SequentialLatency {
  service: Latency;
  /** The plain floor's runs alone, its decodes alone, and both: the request floor. */
  floor: Latency;
  decode: Latency;
  requestFloor: Latency;
  oldFloor: Latency;
  /** Which runtime ran the plain floor (the faster one). */
  floorRuntime: Runtime;
  /** Whose decodes `decode` and `requestFloor` count: the runtime with the faster median decode in these rounds (the chosen one on a tie, as for text). */
  decodeRuntime: Runtime;
  /**
   * Milliseconds each model ran per request, all its runs together: plain floor vs the service's
   * stage timers. Totals, not one run's time: the service may split a model's work into more
   * runs than the floor (a group photo's faces shared out between the inference threads).
   */
  modelRuns: ModelRuns[];
  /** The service's stage timers over the sequential requests. */
  profile: StageProfile;
}

/**
 * The models whose runs the service splits for one request of `scenario`, with the number of
 * shares each of the floor's runs of that model becomes: the service's runs per request (its stage
 * timers around one request) over the floor's steps for the model.
 */
async function splitParts(url: string, scenario: Scenario, plain: PlainFloor): Promise<Map<string, number>> {
  const before = await stageTotals(url);
  await postRequest(url, scenario.requests[0]!);
  const service = stageProfile(before, await stageTotals(url), 1, 1).rows;
  const floorSteps = new Map<string, number>();
  for (const [model] of (await plain.once(scenario.id)).steps) floorSteps.set(model, (floorSteps.get(model) ?? 0) + 1);
  const parts = new Map<string, number>();
  for (const [model, steps] of floorSteps) {
    const shares = (service.find((row) => row.stage === `session:${model}`)?.perRequest ?? steps) / steps;
    if (Number.isInteger(shares) && shares > 1) parts.set(model, shares);
  }
  return parts;
}

/** `rounds` × (one service request, one old floor run of its plan, one plain floor request), one after the other. */
export async function sequentialLatency(
  url: string,
  scenario: Scenario,
  oldFloor: FloorProcess,
  plain: PlainFloor,
  rounds: number,
): Promise<SequentialLatency> {
  const floorRuntime = await plain.choose(scenario.id);
  const otherRuntime = plain.otherRuntime(scenario.id);
  const samples = { service: [] as number[], old: [] as number[], runs: [] as number[] };
  const decodes: Record<Runtime, number[]> = { node: [], bun: [] };
  /** Per model, its steps' milliseconds summed over all rounds. */
  const stepMs = new Map<string, number>();
  const splits = await splitParts(url, scenario, plain);
  const splitMs = new Map<string, number>();
  // A plain session's first runs of a new input shape are slow.
  for (const [model, parts] of splits) for (let i = 0; i < 2; i++) await plain.split(scenario.id, model, parts);
  const before = await stageTotals(url);
  const started = performance.now();
  for (let i = 0; i < rounds; i++) {
    const requestStarted = performance.now();
    await postRequest(url, scenario.requests[0]!);
    samples.service.push(performance.now() - requestStarted);
    samples.old.push(await oldFloor.once(scenario.id));
    const run = await plain.once(scenario.id);
    samples.runs.push(run.runMs);
    decodes[floorRuntime].push(run.decodeMs);
    // The same photo's decode in the other runtime too: sharp's decode in Bun was sometimes twice
    // Node's (16 against 7.6 ms) while its runs were the faster, and a slow decode must not
    // lower the bar.
    decodes[otherRuntime].push(await plain.otherDecode(scenario.id));
    for (const [model, ms] of run.steps) stepMs.set(model, (stepMs.get(model) ?? 0) + ms);
    for (const [model, parts] of splits) splitMs.set(model, (splitMs.get(model) ?? 0) + (await plain.split(scenario.id, model, parts)));
  }
  const decodeRuntime = percentile(decodes[otherRuntime], 50) < percentile(decodes[floorRuntime], 50) ? otherRuntime : floorRuntime;
  const decode = decodes[decodeRuntime];
  const profile = stageProfile(before, await stageTotals(url), rounds, (performance.now() - started) / 1000);
  const modelRuns = [...stepMs].map(([model, totalMs]) => {
    const row = profile.rows.find((r) => r.stage === `session:${model}`);
    const parts = splits.get(model);
    const split = parts === undefined ? undefined : { parts, floorMs: splitMs.get(model)! / rounds };
    return { model, floorMs: totalMs / rounds, serviceMs: row ? row.runMs * row.perRequest : NaN, serviceRuns: row?.perRequest ?? NaN, split };
  });
  return {
    service: summarize(samples.service),
    floor: summarize(samples.runs),
    decode: summarize(decode),
    requestFloor: summarize(samples.runs.map((runMs, i) => runMs + decode[i]!)),
    oldFloor: summarize(samples.old),
    floorRuntime,
    decodeRuntime,
    modelRuns,
    profile,
  };
}

export interface Saturation {
  load: LoadResult;
  profile: StageProfile;
}

/** /ping latencies sampled every 10 ms. */
export type PingLatency = Latency & { max: number; samples: number };

/** /ping latency while autocannon saturates the service, and the load meanwhile. */
export interface PingUnderLoad {
  ping: PingLatency;
  load: LoadResult;
}

/**
 * autocannon alone at `connections` for `seconds`, the server's stage timers read before and
 * after. Nothing else runs meanwhile, as nothing else runs beside the floor's processes: a /ping
 * sampler asks 100 times a second, and in the same window it cost the service 0.5-9 % of its
 * throughput (`pingUnderLoad` measures it in a window of its own).
 */
export async function saturate(server: ServerProcess, requests: LoadRequest[], connections: number, seconds: number): Promise<Saturation> {
  return saturationOf([await timedLoad(server, requests, connections, seconds)]);
}

/**
 * `saturate` for `seconds` in two halves with `between` run in the gap: the plain floor's rate, so
 * that floor and service take turns (F S F S F with the caller's floor windows before and after)
 * and drift on the machine hits both alike (with one window between two of the floor's, the lowest
 * scenario of three full runs read 0.81, 0.84 and 0.88×, and reruns of the first two alone
 * 0.90-0.98×). The stage timers are read around each half; autocannon waits for its requests in
 * flight before it returns, so the server is idle in the gap.
 */
export async function saturateInHalves(
  server: ServerProcess,
  requests: LoadRequest[],
  connections: number,
  seconds: number,
  between: () => Promise<void>,
): Promise<Saturation> {
  const first = await timedLoad(server, requests, connections, seconds / 2);
  await between();
  return saturationOf([first, await timedLoad(server, requests, connections, seconds / 2)]);
}

/** One autocannon run with the server's stage timers read just before and just after it. */
async function timedLoad(server: ServerProcess, requests: LoadRequest[], connections: number, seconds: number) {
  const before = await stageTotals(server.url);
  const run = await autocannonRun(`${server.url}/predict`, requests, connections, seconds);
  return { run, timers: [before, await stageTotals(server.url)] as const };
}

/** The parts of a load as one: the runs summarised, the timers' growth within the parts profiled. */
function saturationOf(parts: Array<Awaited<ReturnType<typeof timedLoad>>>): Saturation {
  const load = summarizeRuns(parts.map((part) => part.run));
  return { load, profile: stageProfile({}, stageGrowth(parts.map((part) => part.timers)), load.completed, load.elapsedSeconds) };
}

/**
 * The same load as `saturate`, with /ping sampled every 10 ms from a process of its own (so the
 * load generator's event loop adds no latency to it).
 */
export async function pingUnderLoad(server: ServerProcess, requests: LoadRequest[], connections: number, seconds: number): Promise<PingUnderLoad> {
  const { ping, result } = await pingDuring(server, seconds, () => runAutocannon(`${server.url}/predict`, requests, connections, seconds));
  return { ping, load: result };
}

/**
 * /ping sampled every 10 ms for `seconds` while `load` runs, with what `load` returned. With the
 * plain floor's processes at saturation as the load and the server idle, it is what the OS gives
 * a nice-0 client when every core is busy with work that is not the service's: the reference for
 * `pingUnderLoad`'s figure.
 */
export async function pingDuring<T>(server: ServerProcess, seconds: number, load: () => Promise<T>): Promise<{ ping: PingLatency; result: T }> {
  const sampler = Bun.spawn([process.execPath, resolve(import.meta.dir, "ping-sampler.ts"), server.url, String(seconds)], { stdout: "pipe" });
  const result = await load();
  const pings = JSON.parse(await new Response(sampler.stdout).text()) as number[];
  return { ping: { ...summarize(pings), max: Math.max(...pings), samples: pings.length }, result };
}
