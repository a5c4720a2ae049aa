/**
 * How the process spreads its work over the machine's cores when the environment does not say:
 *
 * - inference threads: JS threads running onnxruntime sessions. A run blocks its JS thread, so
 *   runs on one thread go one after the other; any CPU session runs on any of them (onnx-session.ts),
 *   search queries on one more of their own. At least two, so that two runs (of one model or of
 *   two) go side by side; one per 4 cores on bigger machines, up to 4.
 * - intra-op threads per session: the inference thread's share of the cores, so concurrent runs
 *   never oversubscribe them. A batch-1 run parallelises poorly (on 2 cores, ViT-B/32 runs 1.3×
 *   faster on 2 threads for 2× the CPU time), so the cores are better spent on runs side by side:
 *   on 2 cores two plain single-threaded processes made 1.3× (CLIP image) and 2.3× (faces) the
 *   requests per second of one process running on both cores, spinning allowed, for single
 *   requests 20–30 % slower (bench/RESULTS.md).
 * - intra-op threads of a search query's session (the CLIP text tower): at least 2. Someone waits
 *   for each query, queries are rare, and the scans it preempts run at a lower priority: on 2
 *   cores a query took 48 ms instead of 79–80 (81–116 instead of 118–149 ms beside a CPU hog on
 *   every core) for 1.2–1.4× the CPU time, while CLIP text at saturation lost 2–6 % (bench/RESULTS.md).
 * - pool workers: pre/post-processing (resizes, alignment, decoding of outputs). They run below
 *   inference (thread-priority.ts) and need about a quarter of a run's CPU time: one per 4 cores.
 *
 *   cores:              2    4    8   12   16
 *   inference threads:  2    2    2    3    4
 *   intra-op threads:   1    2    4    4    4
 *   search intra-op:    2    2    4    4    4
 *   pool workers:       1    1    2    3    4
 *
 * Measured on 2 cores; the rows above follow the same rules.
 */
export interface ThreadLayout {
  inferenceThreads: number;
  intraOpThreads: number;
  /** Intra-op threads of interactive sessions (search queries). */
  searchIntraOpThreads: number;
  interOpThreads: number;
  workers: number;
}

const CORES_PER_THREAD = 4;
const MIN_INFERENCE_THREADS = 2;
const MAX_INFERENCE_THREADS = 4;
const MIN_SEARCH_INTRA_OP_THREADS = 2;

export function defaultThreadLayout(cores: number): ThreadLayout {
  const cpus = Math.max(1, Math.floor(cores));
  const perFour = Math.floor(cpus / CORES_PER_THREAD);
  const inferenceThreads = Math.min(MAX_INFERENCE_THREADS, Math.max(MIN_INFERENCE_THREADS, perFour));
  const intraOpThreads = Math.max(1, Math.floor(cpus / inferenceThreads));
  return {
    inferenceThreads,
    intraOpThreads,
    searchIntraOpThreads: Math.min(cpus, Math.max(MIN_SEARCH_INTRA_OP_THREADS, intraOpThreads)),
    interOpThreads: 1,
    workers: Math.max(1, perFour),
  };
}
