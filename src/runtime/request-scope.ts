/**
 * Which request the current async work belongs to, so work a timed-out request no longer needs is
 * dropped where it is cheap to drop: before a model's predict, before a session run is posted, and
 * on the inference thread before a queued run starts (a run already inside onnxruntime cannot be
 * stopped). Carried by AsyncLocalStorage rather than passed down every model's predict: the check
 * belongs to the runtime, not to each task's code.
 */
import { AsyncLocalStorage } from "node:async_hooks";

const scope = new AsyncLocalStorage<AbortSignal>();

/** Work done for a request that has been answered already (timed out) and so was skipped. */
export class AbandonedError extends Error {
  constructor() {
    super("abandoned: the request timed out");
    this.name = "AbandonedError";
  }
}

/** Runs `work` as part of a request that `signal` aborts when the request is abandoned. */
export function withinRequest<T>(signal: AbortSignal, work: () => T): T {
  return scope.run(signal, work);
}

/** Runs `work` outside any request (e.g. a micro-batch run shared by several requests). */
export function outsideRequest<T>(work: () => T): T {
  return scope.exit(work);
}

/** The abandon signal of the request the caller works for, if any. */
export function requestSignal(): AbortSignal | undefined {
  return scope.getStore();
}

export function throwIfAbandoned(signal: AbortSignal | undefined = requestSignal()): void {
  if (signal?.aborted) throw new AbandonedError();
}
