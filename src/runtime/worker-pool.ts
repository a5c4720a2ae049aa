/**
 * A pool of up to `size` worker threads running pure "kernels" (pre/post-processing functions of
 * the tasks), so that CPU-heavy JavaScript never stalls the HTTP event loop. Kernels are looked up
 * by name in a table shared by the pool and `worker.ts`; arguments are structured-cloned (decoded
 * pixels travel in a SharedArrayBuffer, so they are not copied), typed-array results are transferred.
 * Workers start when a job finds every started one busy (an idle process holds none: each costs
 * ~5 MB) and can be stopped again once the service has nothing loaded. With size 0 the kernels
 * run inline on the calling thread (upstream's `REQUEST_THREADS <= 0`).
 */
import { log } from "../log.ts";
import type { KernelTable } from "./kernel-table.ts";
import { processClockMs, recordStage } from "./stage-timing.ts";
import type { ReplyWaiter, WorkerReply } from "./worker-protocol.ts";

interface Slot {
  worker: Worker;
  pending: Map<number, ReplyWaiter>;
}

type KernelName = keyof KernelTable;
type KernelArgs<K extends KernelName> = Parameters<KernelTable[K]>[0];
type KernelResult<K extends KernelName> = Awaited<ReturnType<KernelTable[K]>>;

export class KernelError extends Error {
  constructor(kernel: string, message: string) {
    super(`${kernel}: ${message}`);
    this.name = "KernelError";
  }
}

export class WorkerPool {
  private readonly slots: Slot[] = [];
  private nextId = 1;
  private closed = false;
  private inlineTable: KernelTable | undefined;

  constructor(readonly size: number) {}

  private spawn(): Slot {
    const worker = new Worker(new URL("./worker.ts", import.meta.url).href);
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
  async run<K extends KernelName>(kernel: K, args: KernelArgs<K>, transfer: ArrayBuffer[] = []): Promise<KernelResult<K>> {
    if (this.closed) throw new Error("worker pool is closed");
    if (this.size === 0) return this.runInline(kernel, args);
    const posted = processClockMs();
    let reply: WorkerReply;
    try {
      reply = await this.post(this.pickSlot(), { kernel, args }, transfer);
    } catch (error) {
      throw new KernelError(String(kernel), (error as Error).message);
    }
    recordStage(`kernel:${String(kernel)}`, "wait", Math.max(0, reply.startedMs - posted) / 1000);
    recordStage(`kernel:${String(kernel)}`, "run", reply.runMs / 1000);
    return reply.value as KernelResult<K>;
  }

  private post(slot: Slot, message: object, transfer: ArrayBuffer[] = []): Promise<WorkerReply> {
    const id = this.nextId++;
    return new Promise<WorkerReply>((resolve, reject) => {
      slot.pending.set(id, { resolve, reject });
      slot.worker.postMessage({ id, ...message }, transfer);
    });
  }

  /** Has every started worker collect its garbage (when the process is idle). */
  async collectGarbage(): Promise<void> {
    await Promise.all(this.slots.map((slot) => this.post(slot, { gc: true })));
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

  private async runInline<K extends KernelName>(kernel: K, args: KernelArgs<K>): Promise<KernelResult<K>> {
    // Loaded lazily so that a pool with workers never pulls the task code into the main thread.
    this.inlineTable ??= (await import("./kernel-table.ts")).kernels;
    const fn = this.inlineTable[kernel] as (a: KernelArgs<K>) => KernelResult<K>;
    try {
      return await fn(args);
    } catch (error) {
      throw new KernelError(String(kernel), error instanceof Error ? error.message : String(error));
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
