/**
 * ONNX sessions as the rest of the service sees them. Runs happen on dedicated inference threads
 * (workers running `inference-thread.ts`), because a run keeps its calling JS thread busy for the whole run
 * (measured under onnxruntime-node: a 55 ms run stalls the event loop ~40-115 ms), which on the
 * main thread would stall /ping and every other request.
 *
 * A CPU session is one native onnxruntime session that every inference thread can run
 * (ort-capi.ts): runs wait in one queue here and go to the first thread that is free, so one
 * model's load (a smart-search re-index) uses every inference thread with one copy of its
 * weights, and a mix of models shares them as it comes. Up to `inferenceThreads` (thread-layout.ts)
 * scan threads start as the queue needs them. Interactive sessions (search queries: the CLIP text
 * tower) are run first, on one more thread, the search thread, which runs at normal priority
 * (thread-priority.ts) and never takes scan runs: a query never waits behind a scan run and keeps
 * its speed when other processes load the machine; when it is busy a query takes a free scan
 * thread. An accelerator's session (CUDA, CoreML: session-host.ts) stays on the thread that
 * created it. Threads stop when the last session is released (each holds a JS heap and
 * onnxruntime's per-thread state), so an idle or fully evicted process stays small.
 */
import { basename, dirname } from "node:path";
import { log } from "../log.ts";
import type { HostedSession } from "./session-host.ts";
import type { BestClasses } from "./best-class.ts";
import type { ReleaseDepth } from "./allocator.ts";
import { AbandonedError, requestSignal, throwIfAbandoned } from "./request-scope.ts";
import { INTERACTIVE_SPIN_MICROSECONDS } from "./intra-op-spin.ts";
import { processClockMs, recordStage } from "./stage-timing.ts";
import { collectTransferables } from "./transfer.ts";
import type { SearchBacklog } from "./search-backlog.ts";
import { SEARCH_THREAD_NAME } from "./thread-priority.ts";
import type { ReplyWaiter, WorkerReply } from "./worker-protocol.ts";
import type { SequenceProbe, SequenceVariant, WeightSharing } from "./sequence-variants.ts";

export interface SessionSettings {
  /** How many inference threads sessions are spread over. */
  inferenceThreads: number;
  intraOpThreads: number;
  /** Intra-op threads of interactive sessions; `intraOpThreads` when absent. */
  searchIntraOpThreads?: number;
  interOpThreads: number;
  arena: boolean;
  deviceId: string;
  /** How long idle intra-op threads spin for more work (intra-op-spin.ts); 0 or absent: they sleep. */
  spinMicroseconds?: number;
  /** Plan each run's activations as one block of the arena (ort-capi.ts `useSharedArena`). */
  memoryPattern?: boolean;
  /** A typical input's shape, for a convolutional model: its CPU session is created in the faster layout for it (layout-choice.ts). */
  layoutProbe?: readonly number[];
  /** `false`: a model's weights stay in its file, copied into memory (`MACHINE_LEARNING_MAP_WEIGHTS`, mapped-weights.ts). */
  mapWeights?: boolean;
  /**
   * Map the model's external weights once and create its sessions on them, sharing the copies
   * onnxruntime packs for its kernels (sequence-variants.ts): set for a model that asks for
   * shorter-sequence sessions.
   */
  shareWeights?: boolean;
  /** The search thread's nice where the OS allows it: it raises itself (thread-jobs.ts, thread-priority.ts `raiseOwnPriority`); absent: 0. */
  searchNice?: number;
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
  | {
      op: "run";
      session: number;
      shared: boolean;
      outputNames: readonly string[];
      feeds: Record<string, Feed>;
      abandon?: Int32Array;
      /** Reduce each output to its best class per position on the inference thread (best-class.ts). */
      reduce?: "best-class";
    }
  /** Creates and checks a shared session's shorter-sequence sessions (sequence-variants.ts). */
  | {
      op: "shorten";
      path: string;
      session: number;
      context: number;
      outputNames: readonly string[];
      settings: SessionSettings;
      sharing: WeightSharing;
      lengths: readonly number[];
      probes: readonly SequenceProbe[];
    }
  /** Frees a session, and for a shared one its shorter sessions and then their shared weights. */
  | { op: "release"; session: number; shared: boolean; variants?: readonly number[]; sharing?: WeightSharing }
  /** Once per process, before the first session with an arena (ort-capi.ts `registerSharedArena`). */
  | { op: "share-arena" }
  /** Hand back the shared arena's memory that no run holds. */
  | { op: "trim-arena" };

/** What a model tells the runtime about its runs. */
export interface SessionUsage {
  /** A person waits for its runs (search queries): the search thread, and always the arena. */
  interactive?: boolean;
  /**
   * Its runs make many small activations (the OCR recogniser): onnxruntime plans them as one
   * block per input shape instead of allocating each from the shared arena.
   */
  memoryPattern?: boolean;
  /**
   * The shape of an input it typically gets, given by convolutional models: its CPU session is
   * timed with and without onnxruntime's NCHWc layout on it and created the faster way
   * (layout-choice.ts). Sizes the model's input fixes itself are taken from the model.
   */
  layoutProbe?: readonly number[];
  /**
   * A text tower's: sessions at these shorter sequence lengths, each kept once it gives the full
   * session's output on every probe that fits it (sequence-variants.ts). Created in the background
   * after the model loads; runs use them as they become ready (`OnnxSession.sequenceLength`).
   */
  shorterSequences?: { readonly lengths: readonly number[]; probes(session: OnnxSession): SequenceProbe[] };
}

/**
 * The settings one session is created with. The arena (MODEL_ARENA) makes each run reuse its
 * activations' memory instead of mapping and faulting it in afresh (with the arena off and the
 * mmap threshold fixed, allocator.ts, every block over 128 KiB is a new mapping); the CPU
 * sessions of the process share one (ort-capi.ts `registerSharedArena`), which holds what the
 * runs under way at once need and hands the rest back when the service goes idle or evicts a
 * model. An interactive session (the CLIP text tower: small, and someone waits for each run)
 * keeps the arena whatever MODEL_ARENA says, runs on its own intra-op thread count
 * (thread-layout.ts: at least 2), and its idle intra-op threads spin a moment before sleeping
 * (intra-op-spin.ts).
 */
export function sessionSettingsFor(settings: SessionSettings, usage: SessionUsage): SessionSettings {
  const planned = {
    ...settings,
    ...(usage.memoryPattern ? { memoryPattern: true } : {}),
    ...(usage.layoutProbe ? { layoutProbe: usage.layoutProbe } : {}),
    ...(usage.shorterSequences ? { shareWeights: true } : {}),
  };
  if (!usage.interactive) return planned;
  return {
    ...planned,
    arena: true,
    intraOpThreads: settings.searchIntraOpThreads ?? settings.intraOpThreads,
    spinMicroseconds: INTERACTIVE_SPIN_MICROSECONDS,
  };
}

/**
 * A created session as its thread describes it, with the execution providers usable here:
 * `shared` sessions are native handles any thread runs, the others belong to their thread.
 */
export type SessionDescription = Pick<HostedSession, "inputs" | "outputNames" | "provider"> & {
  session: number;
  shared: boolean;
  providers: string[];
  /** A shared session created on mapped, shared weights (`SessionSettings.shareWeights`). */
  sharing?: WeightSharing;
};

class InferenceThread {
  private readonly worker: Worker;
  private readonly pending = new Map<number, ReplyWaiter>();
  private nextId = 1;
  /** Accelerator sessions living here, and creations under way (they keep the thread). */
  hosted = 0;
  creating = 0;

  /** Why the thread died, once it has: every call then fails at once instead of waiting forever. */
  private failure: Error | undefined;

  /** @param search the search thread: runs interactive sessions only, at normal priority */
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
      this.owner.threadFree(this);
    });
    this.worker.addEventListener("error", (event) => {
      // Its accelerator sessions are gone with it: their models fail their requests (500) until
      // unloaded. Shared sessions live on: their later runs go to the other threads or a new one.
      this.failure = new Error(`inference thread failed: ${(event as ErrorEvent).message ?? "unknown error"}`);
      log.error(this.failure.message);
      for (const waiter of this.pending.values()) waiter.reject(this.failure);
      this.pending.clear();
      this.owner.forget(this);
    });
    // An idle inference thread must not keep a finished process (CLI, tests) alive.
    this.worker.unref();
  }

  /** Nothing awaited from it: free for the next run. */
  get free(): boolean {
    return this.pending.size === 0 && this.failure === undefined;
  }

  stop(): void {
    void this.worker.terminate();
  }

  call(request: SessionRequest, transfer: ArrayBuffer[] = []): Promise<WorkerReply> {
    return this.post({ session: request }, transfer);
  }

  collectGarbage(depth: ReleaseDepth): Promise<WorkerReply> {
    return this.post({ gc: depth });
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

/** A shared session's call waiting for a free thread. */
interface QueuedCall {
  request: SessionRequest;
  transfer: ArrayBuffer[];
  abandon: Int32Array | undefined;
  resolve: (reply: WorkerReply) => void;
  reject: (error: Error) => void;
}

/**
 * The inference threads of one service: which thread runs what, how many run, and what execution
 * providers they reported. State of the service (service.ts builds one), not of the module.
 */
export class InferenceThreads {
  private readonly threads: InferenceThread[] = [];
  #providers: string[] | undefined;
  /** Live shared sessions, interactive and not: threads are kept while there are any. */
  #sharedSearch = 0;
  #sharedScan = 0;
  /** Scan threads the layout allows (the largest `inferenceThreads` a session was created with). */
  #scanThreads = 1;
  /** The shared arena's registration, once made (or under way). */
  #arenaShared: Promise<unknown> | undefined;
  readonly #searchQueue: QueuedCall[] = [];
  readonly #scanQueue: QueuedCall[] = [];
  /** Queries queued or running on shared sessions, for `backlog`. */
  #searchesInFlight = 0;

  /** @param backlog lowers the search threads during a flood of queries (search-backlog.ts); absent: never */
  constructor(private readonly backlog?: SearchBacklog) {}

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
    return this.threads.length;
  }

  /** Has every inference thread collect its garbage (when the process is idle). */
  async collectGarbage(depth: ReleaseDepth): Promise<void> {
    await Promise.all(this.threads.map((thread) => thread.collectGarbage(depth)));
  }

  /** Has the shared arena hand back what no run holds (when the process has been idle a while). */
  async trimArena(): Promise<void> {
    if (this.#arenaShared) await this.threads[0]?.call({ op: "trim-arena" });
  }

  /** Creates a session on a thread of its kind; `settings.inferenceThreads` caps the scan threads. */
  async create(path: string, settings: SessionSettings, interactive: boolean): Promise<SessionDescription & { thread: InferenceThread }> {
    this.#scanThreads = Math.max(this.#scanThreads, settings.inferenceThreads);
    const thread = interactive ? (this.#thread(true) ?? this.#start(true)) : (this.#freeThread(false) ?? this.#startScan() ?? this.#leastBusy());
    thread.creating++;
    try {
      if (settings.arena) await this.#shareArena(thread);
      const description = (await thread.call({ op: "create", path, settings })).value as SessionDescription;
      this.#providers ??= description.providers;
      if (!description.shared) thread.hosted++;
      else if (interactive) this.#sharedSearch++;
      else this.#sharedScan++;
      return { ...description, thread };
    } finally {
      thread.creating--;
      this.#stopUnneeded();
    }
  }

  /**
   * Registers the shared arena, once for the process (a second registration would make a second
   * arena): the sessions created meanwhile on other threads wait for it.
   */
  #shareArena(thread: InferenceThread): Promise<unknown> {
    this.#arenaShared ??= thread.call({ op: "share-arena" }).catch((error: unknown) => {
      this.#arenaShared = undefined;
      throw error;
    });
    return this.#arenaShared;
  }

  /** Runs (or releases) a shared session on the first free thread that may take it. */
  callShared(request: SessionRequest, interactive: boolean, transfer: ArrayBuffer[] = [], abandon?: Int32Array): Promise<WorkerReply> {
    const reply = new Promise<WorkerReply>((resolve, reject) => {
      (interactive ? this.#searchQueue : this.#scanQueue).push({ request, transfer, abandon, resolve, reject });
      this.#dispatch();
    });
    if (!interactive || request.op !== "run" || !this.backlog) return reply;
    this.#searchesInFlight++;
    this.#observeSearches();
    return reply.finally(() => {
      this.#searchesInFlight--;
      this.#observeSearches();
    });
  }

  /** Tells `backlog` how many queries are in flight against the threads that may run them: the search thread and every scan thread. */
  #observeSearches(): void {
    this.backlog?.observe(this.#searchesInFlight, 1 + this.#scanThreads);
  }

  /**
   * Runs of a shared session that would start at once if queued now: the free threads that may
   * take it, plus the scan threads the layout may still start. 0 while every such thread is busy
   * (runs then wait in the queue, which holds nothing while one is free).
   */
  idleThreads(interactive: boolean): number {
    const free = this.threads.filter((thread) => thread.free && (interactive || !thread.search)).length;
    return free + Math.max(0, this.#scanThreads - this.threads.filter((thread) => !thread.search).length);
  }

  /** A shared session was released: one fewer reason to keep the threads. */
  sharedReleased(interactive: boolean): void {
    if (interactive) this.#sharedSearch--;
    else this.#sharedScan--;
    this.#stopUnneeded();
  }

  /** A hosted session was released from `thread`. */
  hostedReleased(thread: InferenceThread): void {
    thread.hosted--;
    this.#stopUnneeded();
  }

  /** A thread answered a call: it may take the next queued one, or stop. */
  threadFree(thread: InferenceThread): void {
    this.#dispatch();
    if (thread.free) this.#stopUnneeded();
  }

  /** Takes `thread` out of use (it died); queued calls go to the others. */
  forget(thread: InferenceThread): void {
    const index = this.threads.indexOf(thread);
    if (index !== -1) this.threads.splice(index, 1);
    this.#dispatch();
  }

  #dispatch(): void {
    for (;;) {
      const query = this.#searchQueue[0];
      // A query takes the search thread, else a free scan thread, else may start one.
      const forQuery =
        query && (this.#freeThread(true) ?? this.#freeThread(false) ?? this.#startScan() ?? (this.#thread(true) ? undefined : this.#start(true)));
      if (query && forQuery) {
        this.#send(this.#searchQueue.shift()!, forQuery);
        continue;
      }
      const scan = this.#scanQueue[0];
      const forScan = scan && (this.#freeThread(false) ?? this.#startScan());
      if (scan && forScan) {
        this.#send(this.#scanQueue.shift()!, forScan);
        continue;
      }
      return;
    }
  }

  #send(call: QueuedCall, thread: InferenceThread): void {
    // A request that gave up while its run waited here is answered now, without a thread.
    if (call.abandon && Atomics.load(call.abandon, 0) === 1) {
      call.reject(new AbandonedError());
      return;
    }
    thread.call(call.request, call.transfer).then(call.resolve, call.reject);
  }

  #thread(search: boolean): InferenceThread | undefined {
    return this.threads.find((thread) => thread.search === search);
  }

  #freeThread(search: boolean): InferenceThread | undefined {
    return this.threads.find((thread) => thread.search === search && thread.free);
  }

  #leastBusy(): InferenceThread {
    const scans = this.threads.filter((thread) => !thread.search);
    return scans.reduce((best, thread) => (thread.hosted < best.hosted ? thread : best));
  }

  #startScan(): InferenceThread | undefined {
    const scans = this.threads.filter((thread) => !thread.search).length;
    return scans < this.#scanThreads ? this.#start(false) : undefined;
  }

  #start(search: boolean): InferenceThread {
    const thread = new InferenceThread(search, this);
    this.threads.push(thread);
    return thread;
  }

  /** Stops the free threads nothing needs any more: no session they could run, none being created. */
  #stopUnneeded(): void {
    for (const thread of [...this.threads]) {
      const needed = thread.hosted > 0 || thread.creating > 0 || (thread.search ? this.#sharedSearch > 0 : this.#sharedSearch + this.#sharedScan > 0);
      if (needed || !thread.free) continue;
      this.threads.splice(this.threads.indexOf(thread), 1);
      thread.stop();
    }
  }
}

/**
 * A feed whose view covers its whole buffer can be handed over; a slice of a larger one is copied
 * first. Shared memory (tensor-pool.ts) is read in place by the inference thread: whoever made it
 * keeps it untouched until the run returns.
 */
export function ownedFeed(feed: Feed): Feed {
  const data = feed.data;
  if (data.buffer instanceof SharedArrayBuffer) return feed;
  const whole = data.byteOffset === 0 && data.byteLength === data.buffer.byteLength;
  return whole ? feed : { ...feed, data: data.slice() as Feed["data"] };
}

/** `<cache>/<task>/<name>/<type>/model.onnx` → `<name>/<type>`, the label of its stage timings. */
function stageLabel(modelPath: string): string {
  return `session:${basename(dirname(dirname(modelPath)))}/${basename(dirname(modelPath))}`;
}

export class OnnxSession {
  /** Runs in flight, so that a release waits for them (a shared session is freed natively). */
  readonly #inFlight = new Set<Promise<unknown>>();
  #released = false;
  /** Shorter-sequence sessions kept so far (sequence-variants.ts), shortest first. */
  #variants: readonly SequenceVariant[] = [];
  /** Their creation, under way in the background after the load; a release waits for it. */
  #shortening: Promise<unknown> | undefined;

  private constructor(
    private readonly threads: InferenceThreads,
    /** The thread hosting an accelerator's session; undefined for a shared one. */
    private readonly thread: InferenceThread | undefined,
    private readonly interactive: boolean,
    private readonly id: number,
    private readonly stage: string,
    readonly inputs: readonly InputSpec[],
    readonly outputNames: readonly string[],
    readonly provider: string,
    private readonly sharing: WeightSharing | undefined,
  ) {}

  static async create(threads: InferenceThreads, modelPath: string, settings: SessionSettings, usage: SessionUsage = {}): Promise<OnnxSession> {
    const interactive = usage.interactive === true;
    const planned = sessionSettingsFor(settings, usage);
    const description = await threads.create(modelPath, planned, interactive);
    const thread = description.shared ? undefined : description.thread;
    const session = new OnnxSession(
      threads,
      thread,
      interactive,
      description.session,
      stageLabel(modelPath),
      description.inputs,
      description.outputNames,
      description.provider,
      description.sharing,
    );
    if (usage.shorterSequences && description.sharing) session.#shorten(description.thread, modelPath, planned, usage.shorterSequences);
    return session;
  }

  /**
   * Creates the shorter sessions on the thread that created this one (for a search query's, the
   * search thread: onnxruntime's threads take the priority of the thread that starts them), while
   * runs go on at full length on the other threads.
   */
  #shorten(creator: InferenceThread, path: string, settings: SessionSettings, { lengths, probes }: NonNullable<SessionUsage["shorterSequences"]>): void {
    const context = this.inputs[0]?.shape.at(-1);
    if (typeof context !== "number" || !this.sharing) return;
    let probeFeeds: SequenceProbe[];
    try {
      probeFeeds = probes(this);
    } catch (error) {
      // The model loads all the same, its runs at full length.
      log.warn(`${this.stage}: no shorter sessions: its probes could not be made: ${String(error)}`);
      return;
    }
    const request: SessionRequest = {
      op: "shorten",
      path,
      session: this.id,
      context,
      outputNames: this.outputNames,
      settings,
      sharing: this.sharing,
      lengths,
      probes: probeFeeds,
    };
    this.#shortening = creator.call(request).then(
      (reply) => {
        this.#variants = reply.value as SequenceVariant[];
      },
      (error: unknown) => log.warn(`${this.stage}: no shorter sessions: ${String(error)}`),
    );
  }

  /**
   * The sequence length to feed a text of `tokens` positions: the shortest ready session's that
   * holds it, or undefined for the model's own (full) length.
   */
  sequenceLength(tokens: number): number | undefined {
    return this.#variants.find((variant) => variant.length >= tokens)?.length;
  }

  /**
   * How many runs of this session would start at once if queued now (at least 1): as many as
   * there are idle inference threads for a shared session, one for an accelerator's session,
   * which runs on its own thread. A batch shared out among more runs than this gains nothing: the
   * extra runs wait, and each run reads all of the model's weights again.
   */
  get parallelRunsNow(): number {
    return this.thread ? 1 : Math.max(1, this.threads.idleThreads(this.interactive));
  }

  input(name: string): InputSpec | undefined {
    return this.inputs.find((input) => input.name === name);
  }

  /**
   * Runs the model; the feeds' buffers are handed to the inference thread and must not be reused.
   * Within a request that gets abandoned (timed out), a run still queued is skipped.
   */
  async run(feeds: Record<string, Feed>): Promise<OutputTensor[]> {
    return (await this.#call(feeds)) as OutputTensor[];
  }

  /** As `run`, each output reduced to its best class per position where it ran (best-class.ts). */
  async runBestClasses(feeds: Record<string, Feed>): Promise<BestClasses[]> {
    return (await this.#call(feeds, "best-class")) as BestClasses[];
  }

  async #call(feeds: Record<string, Feed>, reduce?: "best-class"): Promise<unknown> {
    if (this.#released) throw new Error("session was released");
    const signal = requestSignal();
    throwIfAbandoned(signal);
    const owned = Object.fromEntries(Object.entries(feeds).map(([name, feed]) => [name, ownedFeed(feed)]));
    // Shared, not copied: the inference thread reads the flag the moment it dequeues the run.
    const abandon = signal ? new Int32Array(new SharedArrayBuffer(4)) : undefined;
    const onAbandon = () => Atomics.store(abandon!, 0, 1);
    signal?.addEventListener("abort", onAbandon, { once: true });
    const posted = processClockMs();
    const request: SessionRequest = {
      op: "run",
      session: this.#sessionFor(owned),
      shared: this.thread === undefined,
      outputNames: this.outputNames,
      feeds: owned,
      abandon,
      reduce,
    };
    const transfer = collectTransferables(owned);
    const call = this.thread ? this.thread.call(request, transfer) : this.threads.callShared(request, this.interactive, transfer, abandon);
    this.#inFlight.add(call);
    try {
      const reply = await call;
      recordStage(this.stage, "wait", Math.max(0, reply.startedMs - posted) / 1000);
      recordStage(this.stage, "run", reply.runMs / 1000);
      return reply.value;
    } catch (error) {
      if (error instanceof AbandonedError) recordStage(this.stage, "abandoned", (processClockMs() - posted) / 1000);
      throw error;
    } finally {
      this.#inFlight.delete(call);
      signal?.removeEventListener("abort", onAbandon);
    }
  }

  /** The shorter session whose length the feeds have (`sequenceLength`), else this one. */
  #sessionFor(feeds: Record<string, Feed>): number {
    if (this.#variants.length === 0) return this.id;
    const length = Object.values(feeds)[0]?.dims.at(-1);
    return this.#variants.find((variant) => variant.length === length)?.session ?? this.id;
  }

  async release(): Promise<void> {
    this.#released = true;
    await Promise.allSettled([...this.#inFlight, this.#shortening]);
    if (this.thread) {
      try {
        await this.thread.call({ op: "release", session: this.id, shared: false });
      } finally {
        this.threads.hostedReleased(this.thread);
      }
      return;
    }
    try {
      await this.threads.callShared(
        {
          op: "release",
          session: this.id,
          shared: true,
          variants: this.#variants.map((variant) => variant.session),
          ...(this.sharing ? { sharing: this.sharing } : {}),
        },
        this.interactive,
      );
    } finally {
      this.threads.sharedReleased(this.interactive);
    }
  }
}
