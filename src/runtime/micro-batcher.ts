/**
 * Cross-request micro-batching for a model whose graph takes a batch axis: items (e.g. aligned
 * faces) submitted by concurrent requests are run together, up to `maxBatch` per run, in the order
 * they came. Up to `maxRuns` batches run at once (one per inference thread that can take them):
 * what is queued when a slot is free is shared out among the free slots whose runs would start at
 * once (`startableRuns`), so that one request's 16 faces run as two batches of 8 on two idle
 * threads instead of 16 on one while the other idles, while on a busy service they run as one
 * batch (two runs that would both wait cost more than one: each reads all of the model's weights),
 * and items that arrive while every slot is busy go together in the next run as soon as one ends.
 * While nothing runs, the first item waits at most `maxWaitMs` for companions (0: it starts at
 * once, so a lone request pays nothing). Each item gets its own output back; a failed
 * run fails the requests whose items were in it. Items of a request abandoned (timed out) while
 * they waited are dropped before the run, and the run itself belongs to no single request, so one
 * request timing out cannot cancel the others' items.
 */
import { AbandonedError, outsideRequest, requestSignal } from "./request-scope.ts";

export interface MicroBatchOptions {
  /** Most items in one run; undefined: no limit. */
  maxBatch: number | undefined;
  /** How long a first item may wait for others while no batch runs. */
  maxWaitMs: number;
  /** Batches that may run at once (≥ 1). */
  maxRuns: number;
  /** Runs that would start at once if queued now (an idle inference thread each); absent: every free slot's. */
  startableRuns?: () => number;
}

interface Queued<In, Out> {
  item: In;
  signal: AbortSignal | undefined;
  resolve: (output: Out) => void;
  reject: (error: unknown) => void;
}

export class MicroBatcher<In, Out> {
  private readonly queue: Array<Queued<In, Out>> = [];
  private readonly limit: number;
  /** Batches running now. */
  private running = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;

  /** @param runBatch runs the model on the items and returns one output per item, in order */
  constructor(
    private readonly runBatch: (items: In[]) => Promise<Out[]>,
    private readonly options: MicroBatchOptions,
  ) {
    this.limit = options.maxBatch ?? Number.POSITIVE_INFINITY;
    if (!(this.limit >= 1)) throw new RangeError(`maxBatch must be at least 1, got ${options.maxBatch}`);
    if (!(options.maxRuns >= 1)) throw new RangeError(`maxRuns must be at least 1, got ${options.maxRuns}`);
  }

  submit(items: readonly In[]): Promise<Out[]> {
    const signal = requestSignal();
    const outputs = items.map((item) => new Promise<Out>((resolve, reject) => this.queue.push({ item, signal, resolve, reject })));
    this.schedule(false);
    return Promise.all(outputs);
  }

  private schedule(afterRun: boolean): void {
    if (this.running >= this.options.maxRuns || this.queue.length === 0) return;
    // Items queued behind a run have waited already, a free slot beside a run takes them at once,
    // and a full batch has nothing to wait for.
    if (afterRun || this.running > 0 || this.queue.length >= this.limit || this.options.maxWaitMs <= 0) {
      void this.flush();
      return;
    }
    this.timer ??= setTimeout(() => void this.flush(), this.options.maxWaitMs);
  }

  private async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.dropAbandoned();
    const free = this.options.maxRuns - this.running;
    if (free <= 0 || this.queue.length === 0) return;
    const shares = Math.min(free, Math.max(1, this.options.startableRuns?.() ?? free));
    const batch = this.queue.splice(0, Math.min(this.limit, Math.ceil(this.queue.length / shares)));
    this.running++;
    // Started before the next share, so that runs begin in queue order; a throw becomes a rejection.
    const run = (async () => outsideRequest(() => this.runBatch(batch.map((queued) => queued.item))))();
    // The rest of the queue goes to the other free slots now, not after this run.
    this.schedule(true);
    try {
      const outputs = await run;
      if (outputs.length !== batch.length) throw new Error(`batch of ${batch.length} items gave ${outputs.length} outputs`);
      batch.forEach((queued, i) => queued.resolve(outputs[i]!));
    } catch (error) {
      for (const queued of batch) queued.reject(error);
    } finally {
      this.running--;
      this.schedule(true);
    }
  }

  private dropAbandoned(): void {
    for (let i = this.queue.length - 1; i >= 0; i--) {
      const queued = this.queue[i]!;
      if (!queued.signal?.aborted) continue;
      this.queue.splice(i, 1);
      queued.reject(new AbandonedError());
    }
  }
}
