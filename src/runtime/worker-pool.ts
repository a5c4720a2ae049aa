/**
 * A fixed pool of worker threads running pure "kernels" (pre/post-processing functions of the
 * tasks), so that CPU-heavy JavaScript never stalls the HTTP event loop. Kernels are looked up by
 * name in a table shared by the pool and `worker.ts`; arguments are structured-cloned (decoded
 * pixels travel in a SharedArrayBuffer, so they are not copied), typed-array results are transferred.
 * With size 0 the kernels run inline on the calling thread (upstream's `REQUEST_THREADS <= 0`).
 */
import { log } from "../log.ts";
import type { KernelTable } from "./kernel-table.ts";

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
}

interface Slot {
  worker: Worker;
  pending: Map<number, Pending>;
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

  constructor(readonly size: number) {
    for (let i = 0; i < size; i++) this.slots.push(this.spawn());
  }

  private spawn(): Slot {
    const worker = new Worker(new URL("./worker.ts", import.meta.url).href);
    const slot: Slot = { worker, pending: new Map() };
    worker.addEventListener("message", (event: MessageEvent) => {
      const { id, ok, value, error } = event.data as { id: number; ok: boolean; value?: unknown; error?: string };
      const pending = slot.pending.get(id);
      if (!pending) return;
      slot.pending.delete(id);
      if (ok) pending.resolve(value);
      else pending.reject(new Error(error));
    });
    worker.addEventListener("error", (event) => {
      // A worker that dies takes only its own queued jobs with it; a fresh one takes its place.
      const message = (event as ErrorEvent).message ?? "worker failed";
      log.error(`Worker thread failed: ${message}`);
      for (const pending of slot.pending.values()) pending.reject(new Error(`worker thread failed: ${message}`));
      slot.pending.clear();
      if (this.closed) return;
      const index = this.slots.indexOf(slot);
      worker.terminate();
      if (index >= 0) this.slots[index] = this.spawn();
    });
    return slot;
  }

  /**
   * Runs a kernel on the least-loaded worker. Arguments are copied (or shared, for
   * SharedArrayBuffer pixels) unless their buffers are listed in `transfer`, which hands them over.
   */
  async run<K extends KernelName>(kernel: K, args: KernelArgs<K>, transfer: ArrayBuffer[] = []): Promise<KernelResult<K>> {
    if (this.closed) throw new Error("worker pool is closed");
    if (this.slots.length === 0) return this.runInline(kernel, args);
    const slot = this.slots.reduce((best, candidate) => (candidate.pending.size < best.pending.size ? candidate : best));
    const id = this.nextId++;
    return new Promise<KernelResult<K>>((resolve, reject) => {
      slot.pending.set(id, {
        resolve: resolve as (value: unknown) => void,
        reject: (error) => reject(new KernelError(String(kernel), error.message)),
      });
      slot.worker.postMessage({ id, kernel, args }, transfer);
    });
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
