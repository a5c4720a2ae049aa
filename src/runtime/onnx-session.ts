/**
 * ONNX sessions as the rest of the service sees them. The sessions themselves live on dedicated
 * inference threads (workers running `inference-thread.ts`), because under Bun onnxruntime-node's
 * `session.run` keeps the calling JS thread busy for the whole run (measured: a 55 ms run stalls
 * the event loop ~40-115 ms), which on the main thread would stall /ping and every other request.
 * On their own thread, runs are queued there while the event loop stays free; onnxruntime's
 * intra-op threads give each run its share of the cores.
 *
 * `inferenceThreads` (thread-layout.ts) of them may exist for library-scan models; a new session
 * goes to a thread hosting no session yet, else to the one hosting fewest, so different models run
 * side by side. Interactive sessions (search queries: the CLIP text tower) go to one more thread,
 * the search thread, which runs at normal priority (thread-priority.ts): a query never waits
 * behind a scan run and keeps its speed when other processes load the machine. Threads start when
 * a session first needs them and stop when their last session is released (each holds a JS heap
 * and onnxruntime's per-thread state), so an idle or fully evicted process stays small.
 */
import { basename, dirname } from "node:path";
import { log } from "../log.ts";
import type { HostedSession } from "./session-host.ts";
import { AbandonedError, requestSignal, throwIfAbandoned } from "./request-scope.ts";
import { processClockMs, recordStage } from "./stage-timing.ts";
import { collectTransferables } from "./transfer.ts";
import { SEARCH_THREAD_NAME } from "./thread-priority.ts";
import type { ReplyWaiter, WorkerReply } from "./worker-protocol.ts";

export interface SessionSettings {
  /** How many inference threads sessions are spread over. */
  inferenceThreads: number;
  intraOpThreads: number;
  interOpThreads: number;
  arena: boolean;
  deviceId: string;
}

export type TensorElement = "float32" | "int32" | "int64" | "uint8";

export interface InputSpec {
  readonly name: string;
  readonly type: TensorElement | string;
  /** Static sizes as numbers, symbolic or unknown sizes as strings/undefined. */
  readonly shape: ReadonlyArray<number | string | undefined>;
}

export interface OutputTensor {
  readonly dims: readonly number[];
  readonly data: Float32Array;
}

export type Feed = { type: TensorElement; data: Float32Array | Int32Array | BigInt64Array | Uint8Array; dims: number[] };

/** Messages the inference thread understands (handled in thread-jobs.ts). */
export type SessionRequest =
  | { op: "create"; path: string; settings: SessionSettings }
  /** `abandon[0]` becomes 1 when the request gave up on this run; checked before it starts. */
  | { op: "run"; session: number; feeds: Record<string, Feed>; abandon?: Int32Array }
  | { op: "release"; session: number };

/** What a model tells the runtime about its runs. */
export interface SessionUsage {
  /** A person waits for its runs (search queries): the search thread, and always the arena. */
  interactive?: boolean;
  /** Its input's shape varies run to run (a number of text lines, an image's size): no arena. */
  varyingShape?: boolean;
}

/**
 * The settings one session is created with. The arena (MODEL_ARENA) makes each run reuse its
 * activations' memory instead of mapping and faulting it in afresh (with the arena off and the
 * mmap threshold fixed, allocator.ts, every block over 128 KiB is a new mapping), but it keeps
 * the largest run's memory for good and grows by powers of two. A session whose input shape
 * varies run to run (OCR at each photo's own size and line count) therefore goes without (the
 * face recogniser instead runs in a few bucketed batch sizes, batch-buckets.ts, and keeps it):
 * with the arena on every session, a soak's RSS floor held at 1,400 MiB instead of 870,
 * and the loaded footprint went over its budget (bench/RESULTS.md). An interactive session (the
 * CLIP text tower: small, and someone waits for each run) keeps the arena whatever MODEL_ARENA
 * says.
 */
export function sessionSettingsFor(settings: SessionSettings, usage: SessionUsage): SessionSettings {
  if (usage.interactive) return { ...settings, arena: true };
  return usage.varyingShape ? { ...settings, arena: false } : settings;
}

/** A created session as its thread describes it, with the execution providers usable here. */
export type SessionDescription = Pick<HostedSession, "inputs" | "outputNames" | "provider"> & { session: number; providers: string[] };

class InferenceThread {
  private readonly worker: Worker;
  private readonly pending = new Map<number, ReplyWaiter>();
  private nextId = 1;
  /** Sessions hosted here, for placement. */
  sessions = 0;

  /** Why the thread died, once it has: every call then fails at once instead of waiting forever. */
  private failure: Error | undefined;

  /** @param search the search thread: hosts interactive sessions only, at normal priority */
  constructor(
    readonly search: boolean,
    private readonly owner: InferenceThreads,
  ) {
    // The name becomes the OS thread's: thread-priority.ts tells the search thread by it.
    this.worker = new Worker(new URL("./inference-thread.ts", import.meta.url).href, { name: search ? SEARCH_THREAD_NAME : "ml-inference" });
    this.worker.addEventListener("message", (event: MessageEvent) => {
      const reply = event.data as WorkerReply;
      const waiter = this.pending.get(reply.id);
      if (!waiter) return;
      this.pending.delete(reply.id);
      if (reply.ok) waiter.resolve(reply);
      else waiter.reject(reply.abandoned ? new AbandonedError() : new Error(reply.error));
      // The last call of a thread without sessions (a garbage collection) lets it stop.
      this.owner.stopIfIdle(this);
    });
    this.worker.addEventListener("error", (event) => {
      // Its sessions are gone with it: their models fail their requests (500) until unloaded.
      this.failure = new Error(`inference thread failed: ${(event as ErrorEvent).message ?? "unknown error"}`);
      log.error(this.failure.message);
      for (const waiter of this.pending.values()) waiter.reject(this.failure);
      this.pending.clear();
      this.owner.forget(this);
    });
    // An idle inference thread must not keep a finished process (CLI, tests) alive.
    this.worker.unref();
  }

  /** Nothing hosted and nothing awaited: the thread can stop. */
  get idle(): boolean {
    return this.sessions === 0 && this.pending.size === 0;
  }

  stop(): void {
    void this.worker.terminate();
  }

  call(request: SessionRequest, transfer: ArrayBuffer[] = []): Promise<WorkerReply> {
    return this.post({ session: request }, transfer);
  }

  collectGarbage(): Promise<WorkerReply> {
    return this.post({ gc: true });
  }

  private post(message: object, transfer: ArrayBuffer[] = []): Promise<WorkerReply> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise<WorkerReply>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, ...message }, transfer);
    });
  }
}

/**
 * The inference threads of one service: where sessions are placed, how many run, and what
 * execution providers they reported. State of the service (service.ts builds one), not of the module.
 */
export class InferenceThreads {
  readonly #threads: InferenceThread[] = [];
  #providers: string[] | undefined;

  /**
   * Execution providers this onnxruntime build can use here, best first, as the first inference
   * thread reported them; undefined until a session exists. Asked of the inference thread rather
   * than loading onnxruntime on the main thread just to list them: an idle process never loads it.
   */
  get providers(): readonly string[] | undefined {
    return this.#providers;
  }

  /** Inference threads running now (for /health). */
  get count(): number {
    return this.#threads.length;
  }

  /** Has every inference thread collect its garbage (when the process is idle). */
  async collectGarbage(): Promise<void> {
    await Promise.all(this.#threads.map((thread) => thread.collectGarbage()));
  }

  place(wanted: number, interactive: boolean): InferenceThread {
    const candidates = this.#threads.filter((thread) => thread.search === interactive);
    const free = candidates.find((thread) => thread.sessions === 0);
    if (free) return free;
    if (candidates.length < (interactive ? 1 : Math.max(1, wanted))) {
      const thread = new InferenceThread(interactive, this);
      this.#threads.push(thread);
      return thread;
    }
    return candidates.reduce((best, thread) => (thread.sessions < best.sessions ? thread : best));
  }

  noteProviders(providers: string[]): void {
    this.#providers ??= providers;
  }

  /** Stops `thread` if it hosts nothing any more. */
  stopIfIdle(thread: InferenceThread): void {
    if (thread.idle && this.forget(thread)) thread.stop();
  }

  /** Takes `thread` out of placement; false if it was already out. */
  forget(thread: InferenceThread): boolean {
    const index = this.#threads.indexOf(thread);
    if (index === -1) return false;
    this.#threads.splice(index, 1);
    return true;
  }
}

/** A feed whose view covers its whole buffer can be handed over; a slice of a larger one is copied first. */
function ownedFeed(feed: Feed): Feed {
  const data = feed.data;
  const whole = data.byteOffset === 0 && data.byteLength === data.buffer.byteLength && data.buffer instanceof ArrayBuffer;
  return whole ? feed : { ...feed, data: data.slice() as Feed["data"] };
}

/** `<cache>/<task>/<name>/<type>/model.onnx` → `<name>/<type>`, the label of its stage timings. */
function stageLabel(modelPath: string): string {
  return `session:${basename(dirname(dirname(modelPath)))}/${basename(dirname(modelPath))}`;
}

export class OnnxSession {
  private constructor(
    private readonly threads: InferenceThreads,
    private readonly thread: InferenceThread,
    private readonly id: number,
    private readonly stage: string,
    readonly inputs: readonly InputSpec[],
    readonly outputNames: readonly string[],
    readonly provider: string,
  ) {}

  static async create(threads: InferenceThreads, modelPath: string, settings: SessionSettings, usage: SessionUsage = {}): Promise<OnnxSession> {
    const thread = threads.place(settings.inferenceThreads, usage.interactive === true);
    thread.sessions++;
    try {
      const description = (await thread.call({ op: "create", path: modelPath, settings: sessionSettingsFor(settings, usage) })).value as SessionDescription;
      threads.noteProviders(description.providers);
      return new OnnxSession(threads, thread, description.session, stageLabel(modelPath), description.inputs, description.outputNames, description.provider);
    } catch (error) {
      thread.sessions--;
      threads.stopIfIdle(thread);
      throw error;
    }
  }

  input(name: string): InputSpec | undefined {
    return this.inputs.find((input) => input.name === name);
  }

  /**
   * Runs the model; the feeds' buffers are handed to the inference thread and must not be reused.
   * Within a request that gets abandoned (timed out), a run still queued on its thread is skipped.
   */
  async run(feeds: Record<string, Feed>): Promise<OutputTensor[]> {
    const signal = requestSignal();
    throwIfAbandoned(signal);
    const owned = Object.fromEntries(Object.entries(feeds).map(([name, feed]) => [name, ownedFeed(feed)]));
    // Shared, not copied: the inference thread reads the flag the moment it dequeues the run.
    const abandon = signal ? new Int32Array(new SharedArrayBuffer(4)) : undefined;
    const onAbandon = () => Atomics.store(abandon!, 0, 1);
    signal?.addEventListener("abort", onAbandon, { once: true });
    const posted = processClockMs();
    try {
      const reply = await this.thread.call({ op: "run", session: this.id, feeds: owned, abandon }, collectTransferables(owned));
      recordStage(this.stage, "wait", Math.max(0, reply.startedMs - posted) / 1000);
      recordStage(this.stage, "run", reply.runMs / 1000);
      return reply.value as OutputTensor[];
    } catch (error) {
      if (error instanceof AbandonedError) recordStage(this.stage, "abandoned", (processClockMs() - posted) / 1000);
      throw error;
    } finally {
      signal?.removeEventListener("abort", onAbandon);
    }
  }

  async release(): Promise<void> {
    try {
      await this.thread.call({ op: "release", session: this.id });
    } finally {
      this.thread.sessions--;
      this.threads.stopIfIdle(this.thread);
    }
  }
}
