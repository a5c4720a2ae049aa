/**
 * Task routing (opt-in, `MACHINE_LEARNING_ROUTE__<TASK>`): a request's entries are split per task;
 * each routed task goes to one of its peers as an ordinary /predict (round-robin over healthy
 * peers, failing over to the next, then to local inference unless `ROUTE_FALLBACK=none`); the
 * other tasks run here, at the same time. The shares are merged into one response shaped as
 * upstream's: one key per task in the order the request named them, then `imageHeight`/`imageWidth`.
 * A peer's 4xx is the request's fault and is answered as is; a 5xx, 429, timeout or refused
 * connection demotes the peer and tries the next.
 */
import { Unpackr } from "msgpackr";
import type { ScalingSettings } from "../config/settings.ts";
import { encodeJson, encodeMsgpack, wantsMsgpack } from "../http/encode-response.ts";
import type { Metrics } from "../http/metrics.ts";
import type { ModelTask } from "../models/identity.ts";
import type { PipelineEntry } from "../pipeline/entries.ts";
import type { PredictResponse } from "../pipeline/predict.ts";
import { RequestError } from "../pipeline/request-error.ts";
import { requestSignal } from "../runtime/request-scope.ts";
import { HealthChecker, PeerUnreachableError, watchPeer } from "./health-checker.ts";
import { Peer, PeerGroup } from "./peer.ts";
import { postPredict, type PeerAnswer, type PeerPayload } from "./peer-client.ts";
import { topLevelFields } from "./response-fields.ts";

/** A response field: the exact JSON a peer printed, or a value still to be encoded. */
type Field = { raw: string } | { value: unknown };
type Share = Map<string, Field>;

export type LocalRun = (entries: readonly PipelineEntry[]) => Promise<PredictResponse>;

const IMAGE_SIZE_KEYS = ["imageHeight", "imageWidth"];
const unpackr = new Unpackr({ useRecords: false });

/** The `entries` form field for a subset of a request's entries. */
export function entriesField(entries: readonly PipelineEntry[]): string {
  const tree: Record<string, Record<string, { modelName: string; options: Readonly<Record<string, unknown>> }>> = {};
  for (const entry of entries) (tree[entry.task] ??= {})[entry.type] = { modelName: entry.modelName, options: entry.options };
  return JSON.stringify(tree);
}

function localShare(response: PredictResponse): Share {
  return new Map(Object.entries(response).map(([key, value]) => [key, { value }]));
}

/** A peer's 200 as a share; throws (the peer is at fault) when it lacks what was asked for. */
function peerShare(answer: PeerAnswer, task: ModelTask, image: boolean): Share {
  const share: Share = answer.contentType.includes("msgpack")
    ? new Map(Object.entries(unpackr.unpack(answer.body) as Record<string, unknown>).map(([key, value]) => [key, { value }]))
    : new Map([...topLevelFields(new TextDecoder().decode(answer.body))].map(([key, raw]) => [key, { raw }]));
  for (const key of [task, ...(image ? IMAGE_SIZE_KEYS : [])]) {
    if (!share.has(key)) throw new Error(`answer lacks "${key}"`);
  }
  return share;
}

/** A peer's 4xx, answered to our client with the peer's status and detail. */
function clientError(answer: PeerAnswer): RequestError {
  const text = new TextDecoder().decode(answer.body);
  try {
    const parsed = JSON.parse(text) as { detail?: unknown };
    return new RequestError(answer.status, parsed.detail ?? parsed);
  } catch {
    return new RequestError(answer.status, text);
  }
}

export class TaskRouter {
  readonly #groups = new Map<ModelTask, PeerGroup>();
  readonly #peers: Peer[] = [];
  readonly #checker: HealthChecker;

  constructor(
    private readonly settings: ScalingSettings,
    private readonly metrics: Metrics,
  ) {
    const byUrl = new Map<string, Peer>();
    for (const [task, urls] of Object.entries(settings.routes) as Array<[ModelTask, string[]]>) {
      const peers = urls.map((url) => byUrl.get(url) ?? byUrl.set(url, new Peer(url)).get(url)!);
      this.#groups.set(task, new PeerGroup(peers));
    }
    this.#peers.push(...byUrl.values());
    for (const peer of this.#peers) this.#reportHealth(peer);
    this.#checker = new HealthChecker(this.#peers, {
      intervalS: settings.peerPingIntervalS,
      timeoutS: settings.peerPingTimeoutS,
      onCheck: (peer) => this.#reportHealth(peer),
    });
  }

  get peers(): readonly Peer[] {
    return this.#peers;
  }

  start(): void {
    this.#checker.start();
  }

  stop(): void {
    this.#checker.stop();
  }

  /** Whether any entry belongs to a routed task. */
  routes(entries: readonly PipelineEntry[]): boolean {
    return entries.some((entry) => this.#groups.has(entry.task));
  }

  async predict(entries: readonly PipelineEntry[], payload: PeerPayload, accept: string | null, runLocal: LocalRun): Promise<Response> {
    const msgpack = wantsMsgpack(accept);
    const image = "image" in payload;
    const tasks = [...new Set(entries.map((entry) => entry.task))];
    const local = entries.filter((entry) => !this.#groups.has(entry.task));
    const jobs: Array<Promise<Share>> = [];
    if (local.length > 0) jobs.push(runLocal(local).then(localShare));
    for (const task of tasks) {
      if (this.#groups.has(task))
        jobs.push(
          this.#forward(
            task,
            entries.filter((entry) => entry.task === task),
            payload,
            accept,
            runLocal,
          ),
        );
    }
    // Every share settles before the first failure is reported, as the local pipeline does.
    const results = await Promise.allSettled(jobs);
    const failure = results.find((result) => result.status === "rejected");
    if (failure) throw (failure as PromiseRejectedResult).reason;
    const shares = results.map((result) => (result as PromiseFulfilledResult<Share>).value);

    const keys = [...tasks, ...(image ? IMAGE_SIZE_KEYS : [])];
    const field = (key: string) => shares.find((share) => share.has(key))!.get(key)!;
    if (msgpack) {
      const merged = Object.fromEntries(
        keys.map((key) => {
          const value = field(key);
          return [key, "raw" in value ? JSON.parse(value.raw) : value.value];
        }),
      );
      return new Response(encodeMsgpack(merged), { headers: { "content-type": "application/msgpack" } });
    }
    const body = keys.map((key) => {
      const value = field(key);
      return `${JSON.stringify(key)}:${"raw" in value ? value.raw : encodeJson(value.value)}`;
    });
    return new Response(`{${body.join(",")}}`, { headers: { "content-type": "application/json" } });
  }

  async #forward(task: ModelTask, entries: PipelineEntry[], payload: PeerPayload, accept: string | null, runLocal: LocalRun): Promise<Share> {
    const fallbackLocal = this.settings.routeFallback === "local";
    // Without a local fallback a demoted peer is still worth a try before giving up.
    const candidates = this.#groups.get(task)!.candidates(!fallbackLocal);
    const signal = requestSignal();
    let lastFailure = "no healthy peer";
    for (const peer of candidates) {
      const started = performance.now();
      const watch = watchPeer(peer, this.settings.peerPingTimeoutS);
      let reason: string;
      try {
        const answer = await postPredict(peer.url, entriesField(entries), payload, {
          accept,
          timeoutS: this.settings.peerTimeoutS,
          signal: signal ? AbortSignal.any([signal, watch.signal]) : watch.signal,
        });
        if (answer.status === 200) {
          const share = peerShare(answer, task, "image" in payload);
          this.#record(peer, task, "ok", started);
          return share;
        }
        if (answer.status < 500 && answer.status !== 429) {
          this.#record(peer, task, "client_error", started);
          throw clientError(answer);
        }
        reason = `answered ${answer.status}`;
      } catch (error) {
        if (error instanceof RequestError || signal?.aborted) throw error;
        if (error instanceof PeerUnreachableError) reason = error.message;
        else if (error instanceof Error && error.name === "TimeoutError") reason = `no answer within ${this.settings.peerTimeoutS} s`;
        else reason = `failed: ${error instanceof Error ? error.message : String(error)}`;
      } finally {
        watch.stop();
      }
      this.#record(peer, task, "error", started);
      peer.markDown(reason);
      this.#reportHealth(peer);
      lastFailure = `${peer.url} ${reason}`;
    }
    if (fallbackLocal) {
      this.metrics.peerFallbacks.inc({ task });
      return localShare(await runLocal(entries));
    }
    throw new RequestError(502, `No peer served task ${task}: ${lastFailure}`);
  }

  #record(peer: Peer, task: ModelTask, outcome: "ok" | "client_error" | "error", started: number): void {
    this.metrics.peerRequests.inc({ peer: peer.url, task, outcome });
    this.metrics.peerSeconds.observe({ peer: peer.url, task }, (performance.now() - started) / 1000);
  }

  #reportHealth(peer: Peer): void {
    this.metrics.peerHealthy.set({ peer: peer.url }, peer.healthy ? 1 : 0);
  }
}
