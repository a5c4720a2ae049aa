/**
 * The reply every worker thread (kernel worker or inference thread, see thread-jobs.ts) posts back, and
 * the waiter the main thread keeps for it until it arrives.
 */
export interface WorkerReply {
  id: number;
  ok: boolean;
  value?: unknown;
  error?: string;
  /** The work was skipped because its request had been abandoned (request-scope.ts). */
  abandoned?: boolean;
  /** When (process clock, ms) the worker began handling the request, and for how long it ran. */
  startedMs: number;
  runMs: number;
}

export interface ReplyWaiter {
  resolve: (reply: WorkerReply) => void;
  reject: (error: Error) => void;
}
