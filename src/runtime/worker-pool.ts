/**
 * A pool of up to `size` worker threads running pure "kernels" (pre/post-processing functions of
 * the tasks), so that CPU-heavy JavaScript never stalls the HTTP event loop. Kernels are looked up
 * by name in the table of the pool's `KernelSource`, which the composition root hands it (this
 * layer knows no task); arguments are structured-cloned (decoded pixels travel in a
 * SharedArrayBuffer, so they are not copied), typed-array results are transferred.
 * Workers start when a job finds every started one busy (an idle process holds none: each costs
 * ~5 MB) and can be stopped again once the service has nothing loaded. With size 0 the kernels
 * run inline on the calling thread (upstream's `REQUEST_THREADS <= 0`).
 */
import { log } from "../log.ts";
import type { ReleaseDepth } from "./allocator.ts";
import type { KernelTable } from "./thread-jobs.ts";
import { processClockMs, recordStage } from "./stage-timing.ts";
import type { ReplyWaiter, WorkerReply } from "./worker-protocol.ts";

interface Slot {
  worker: Worker;
  pending: Map<number, ReplyWaiter>;
}

type KernelArgs<Table extends KernelTable, K extends keyof Table> = Parameters<Table[K]>[0];
type KernelResult<Table extends KernelTable, K extends keyof Table> = Awaited<ReturnType<Table[K]>>;

/** Where a pool's kernels come from. */
export interface KernelSource<Table extends KernelTable> {
  /** The module each worker thread starts from: it hands `Table` to `serveJobs` (thread-jobs.ts). */
  readonly thread: URL;
  /**
   * The table itself, for inline runs (size 0); loaded on first use, so that a pool with workers
   * never pulls the task code into the main thread.
   */
  load(): Promise<Table>;
}

export class KernelError extends Error {
  constructor(kernel: string, message: string) {
    super(`${kernel}: ${message}`);
    this.name = "KernelError";
  }
}

export class WorkerPool<Table extends KernelTable> {
  private readonly slots: Slot[] = [];
  private nextId = 1;
  private closed = false;
  private inlineTable: Table | undefined;

  constructor(
    readonly size: number,
    private readonly kernels: KernelSource<Table>,
  ) {}

  private spawn(): Slot {
    const worker = new Worker(this.kernels.thread.href);
    const slot: Slot = { worker, pending: new Map() };
    worker.addEventListener("message", (event: MessageEvent) => {
      const reply = event.data as WorkerReply;
      const pending = slot.pending.get(reply.id);
      if (!pending) return;
      slot.pending.delete(reply.id);
      if (reply.ok) pending.resolve(reply);
      else pending.reject(new Error(reply.error));
    });
    worker.addEventListener("error", (event) => {
      // A worker that dies takes only its own queued jobs with it; the next job starts a fresh one.
      const message = (event as ErrorEvent).message ?? "worker failed";
      log.error(`Worker thread failed: ${message}`);
      for (const pending of slot.pending.values()) pending.reject(new Error(`worker thread failed: ${message}`));
      slot.pending.clear();
      if (this.closed) return;
      const index = this.slots.indexOf(slot);
      worker.terminate();
      if (index >= 0) this.slots.splice(index, 1);
    });
    return slot;
  }

  /**
   * Runs a kernel on an idle (or the least-loaded) worker. Arguments are copied (or shared, for
   * SharedArrayBuffer pixels) unless their buffers are listed in `transfer`, which hands them over.
   */
  async run<K extends keyof Table & string>(kernel: K, args: KernelArgs<Table, K>, transfer: ArrayBuffer[] = []): Promise<KernelResult<Table, K>> {
    if (this.closed) throw new Error("worker pool is closed");
    if (this.size === 0) return this.runInline(kernel, args);
    const posted = processClockMs();
    let reply: WorkerReply;
    try {
      reply = await this.post(this.pickSlot(), { kernel, args }, transfer);
    } catch (error) {
      throw new KernelError(kernel, (error as Error).message);
    }
    recordStage(`kernel:${kernel}`, "wait", Math.max(0, reply.startedMs - posted) / 1000);
    recordStage(`kernel:${kernel}`, "run", reply.runMs / 1000);
    return reply.value as KernelResult<Table, K>;
  }

  private post(slot: Slot, message: object, transfer: ArrayBuffer[] = []): Promise<WorkerReply> {
    const id = this.nextId++;
    return new Promise<WorkerReply>((resolve, reject) => {
      slot.pending.set(id, { resolve, reject });
      slot.worker.postMessage({ id, ...message }, transfer);
    });
  }

  /** Has every started worker collect its garbage (when the process is idle). */
  async collectGarbage(depth: ReleaseDepth): Promise<void> {
    await Promise.all(this.slots.map((slot) => this.post(slot, { gc: depth })));
  }

  /** An idle worker, else a new one while the pool is below its size, else the least loaded. */
  private pickSlot(): Slot {
    const idle = this.slots.find((slot) => slot.pending.size === 0);
    if (idle) return idle;
    if (this.slots.length < this.size) {
      const slot = this.spawn();
      this.slots.push(slot);
      return slot;
    }
    return this.slots.reduce((best, candidate) => (candidate.pending.size < best.pending.size ? candidate : best));
  }

  private async runInline<K extends keyof Table & string>(kernel: K, args: KernelArgs<Table, K>): Promise<KernelResult<Table, K>> {
    this.inlineTable ??= await this.kernels.load();
    const fn = this.inlineTable[kernel] as (a: KernelArgs<Table, K>) => KernelResult<Table, K>;
    try {
      return await fn(args);
    } catch (error) {
      throw new KernelError(kernel, error instanceof Error ? error.message : String(error));
    }
  }

  /** Stops the workers with nothing to do; later jobs start fresh ones. */
  stopIdleWorkers(): void {
    for (const slot of this.slots.filter((candidate) => candidate.pending.size === 0)) {
      this.slots.splice(this.slots.indexOf(slot), 1);
      void slot.worker.terminate();
    }
  }

  /** Workers running now. */
  get started(): number {
    return this.slots.length;
  }

  /** Jobs queued or running, for metrics and health. */
  get queued(): number {
    return this.slots.reduce((sum, slot) => sum + slot.pending.size, 0);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const slot of this.slots) {
      for (const pending of slot.pending.values()) pending.reject(new Error("worker pool closed"));
      slot.worker.terminate();
    }
    this.slots.length = 0;
  }
}
