/**
 * Where a request's time goes, stage by stage: image decoding, each worker-pool kernel and each
 * session run, split into time spent waiting for a thread ("wait") and time running ("run"), and
 * runs dropped unstarted because their request was abandoned ("abandoned").
 * The runtime reports here; whoever wants the figures (the Prometheus metrics) subscribes.
 */
/** "abandoned": work skipped because its request timed out, with how long it had waited. */
export type StagePhase = "wait" | "run" | "abandoned";
export type StageListener = (stage: string, phase: StagePhase, seconds: number) => void;

const listeners = new Set<StageListener>();

/** Subscribes to stage timings; returns the unsubscribe function. */
export function onStage(listener: StageListener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function recordStage(stage: string, phase: StagePhase, seconds: number): void {
  for (const listener of listeners) listener(stage, phase, seconds);
}

/** Milliseconds on a clock shared by every thread of the process (each thread's `performance.now()` has its own origin). */
export function processClockMs(): number {
  return performance.timeOrigin + performance.now();
}
