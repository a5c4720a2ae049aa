/**
 * The tasks' kernels as the worker pool takes them. The thread entry must sit in this folder: from
 * source the URL is relative to this file, in the executable to its flat file system (build.ts).
 */
import type { KernelSource, WorkerPool } from "../runtime/worker-pool.ts";

type TaskKernels = typeof import("./kernel-table.ts").kernels;

/** The pool the models run their kernels on. */
export type TaskPool = WorkerPool<TaskKernels>;

export const TASK_KERNELS: KernelSource<TaskKernels> = {
  thread: new URL("./kernel-thread.ts", import.meta.url),
  load: async () => (await import("./kernel-table.ts")).kernels,
};
