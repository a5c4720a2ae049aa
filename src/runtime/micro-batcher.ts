/**
 * Cross-request micro-batching for a model whose graph takes a batch axis: items (e.g. aligned
 * faces) submitted by concurrent requests are run together, up to `maxBatch` per run, in the order
 * they came. One batch runs at a time; items that arrive meanwhile wait for it and go together in
 * the next run as soon as it ends. While nothing runs, the first item waits at most `maxWaitMs`
 * for companions (0: it starts at once, so a lone request pays nothing). A request with more
 * items than `maxBatch` is split over consecutive runs. Each item gets its own output back; a
 * failed run fails the requests whose items were in it. Items of a request abandoned (timed out)
 * while they waited are dropped before the run, and the run itself belongs to no single request,
 * so one request timing out cannot cancel the others' items.
 */
import { AbandonedError, outsideRequest, requestSignal } from "./request-scope.ts";

export interface MicroBatchOptions {
  /** Most items in one run; undefined: no limit. */
  maxBatch: number | undefined;
  /** How long a first item may wait for others while no batch runs. */
  maxWaitMs: number;
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
  private running = false;
  private timer: ReturnType<typeof setTimeout> | undefined;

  /** @param runBatch runs the model on the items and returns one output per item, in order */
  constructor(
    private readonly runBatch: (items: In[]) => Promise<Out[]>,
    private readonly options: MicroBatchOptions,
  ) {
    this.limit = options.maxBatch ?? Number.POSITIVE_INFINITY;
    if (!(this.limit >= 1)) throw new RangeError(`maxBatch must be at least 1, got ${options.maxBatch}`);
  }

  submit(items: readonly In[]): Promise<Out[]> {
    const signal = requestSignal();
    const outputs = items.map((item) => new Promise<Out>((resolve, reject) => this.queue.push({ item, signal, resolve, reject })));
    this.schedule(false);
    return Promise.all(outputs);
  }

  private schedule(afterRun: boolean): void {
    if (this.running || this.queue.length === 0) return;
    // Items queued behind a run have waited already; a full batch has nothing to wait for.
    if (afterRun || this.queue.length >= this.limit || this.options.maxWaitMs <= 0) {
      void this.flush();
      return;
    }
    this.timer ??= setTimeout(() => void this.flush(), this.options.maxWaitMs);
  }

  private async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.dropAbandoned();
    if (this.running || this.queue.length === 0) return;
    const batch = this.queue.splice(0, this.limit);
    this.running = true;
    try {
      const outputs = await outsideRequest(() => this.runBatch(batch.map((queued) => queued.item)));
      if (outputs.length !== batch.length) throw new Error(`batch of ${batch.length} items gave ${outputs.length} outputs`);
      batch.forEach((queued, i) => queued.resolve(outputs[i]!));
    } catch (error) {
      for (const queued of batch) queued.reject(error);
    } finally {
      this.running = false;
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
