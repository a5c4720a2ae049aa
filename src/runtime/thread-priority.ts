/**
 * CPU priorities in three tiers, so that a saturated machine serves what matters first:
 *
 * 1. the HTTP thread and the search thread (nice 0): /ping and request parsing answer at once
 *    under full load, and a search query (the CLIP text tower's runs, on an inference thread of
 *    its own, onnx-session.ts) holds its own against the other processes of an Immich host: with
 *    a nice-0 CPU hog on every core of a 2-core machine, a query took 17.5× its quiet time at
 *    nice +10 (bench/RESULTS.md, busy neighbour);
 * 2. inference for library scans (nice +10): the other inference threads and the onnxruntime
 *    threads they create; background work, it yields to the Immich server's own jobs;
 * 3. pre/post-processing (nice +19): the kernel workers and the image-decoding threads.
 *
 * Tier 3 below tier 2 makes pre-processing fill the cycles onnxruntime leaves idle (its threads
 * sleep between parallel sections) instead of slowing every run: at saturation the inference
 * thread always has the next request's input ready and runs close to its raw speed. Nothing
 * starves: when inference waits for input, pre-processing gets the cores.
 *
 * Threads inherit their creator's priority, so a worker that lowers itself before creating
 * sessions takes onnxruntime's threads with it. The main thread's sweep puts every other thread
 * at least at tier 2 and never raises one. Linux only (per-thread nice); elsewhere a no-op.
 */
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { log } from "../log.ts";

export const INFERENCE_NICE = 10;
export const PREPROCESSING_NICE = 19;
/** Threads that decode images (libvips, and the runtime's pool running sharp's async work). */
const DECODE_THREAD_NAMES = [/^libvips/, /^Bun Pool/];
/**
 * The OS name of the search thread (a worker's name becomes its thread's name), which the
 * onnxruntime threads it creates inherit: the sweep below leaves them at nice 0.
 */
export const SEARCH_THREAD_NAME = "ml-search";

interface Priority {
  get(tid: number): number;
  set(tid: number, nice: number): boolean;
}

let priority: Priority | null | undefined;

function loadPriority(): Priority | null {
  if (process.platform !== "linux") return null;
  try {
    const { dlopen, FFIType } = require("bun:ffi") as typeof import("bun:ffi");
    // getpriority/setpriority(PRIO_PROCESS, tid, …) apply to one thread on Linux.
    const libc = dlopen("libc.so.6", {
      getpriority: { args: [FFIType.i32, FFIType.u32], returns: FFIType.i32 },
      setpriority: { args: [FFIType.i32, FFIType.u32, FFIType.i32], returns: FFIType.i32 },
    });
    return { get: (tid) => libc.symbols.getpriority(0, tid), set: (tid, nice) => libc.symbols.setpriority(0, tid, nice) === 0 };
  } catch (error) {
    log.debug(`per-thread priorities unavailable: ${String(error)}`);
    return null;
  }
}

function api(): Priority | null {
  if (priority === undefined) priority = loadPriority();
  return priority;
}

/** Moves a thread down to `nice` unless it is already there or lower. */
function lower(p: Priority, tid: number, nice: number): void {
  if (p.get(tid) < nice) p.set(tid, nice);
}

function threadName(tid: number): string {
  try {
    return readFileSync(`/proc/self/task/${tid}/comm`, "utf8").trim();
  } catch {
    return "";
  }
}

/** Whether the calling thread is the search thread (by its OS name; Linux only). */
export function isSearchThread(): boolean {
  try {
    return readFileSync("/proc/thread-self/comm", "utf8").trim() === SEARCH_THREAD_NAME;
  } catch {
    return false;
  }
}

/** Lowers the calling thread (a worker) to `nice`, before it creates threads of its own. */
export function lowerOwnPriority(nice: number): void {
  const p = api();
  if (!p) return;
  try {
    // "/proc/thread-self" → "<pid>/task/<tid>"
    lower(p, Number(readlinkSync("/proc/thread-self").split("/").at(-1)), nice);
  } catch (error) {
    log.debug(`cannot lower this thread's priority: ${String(error)}`);
  }
}

/** From the main thread: every other thread but the search thread to at least tier 2, decoders to tier 3. */
export function deprioritizeComputeThreads(): void {
  const p = api();
  if (!p) return;
  let tids: string[];
  try {
    tids = readdirSync("/proc/self/task");
  } catch {
    return;
  }
  for (const entry of tids) {
    const tid = Number(entry);
    if (tid === process.pid) continue;
    const name = threadName(tid);
    if (name === SEARCH_THREAD_NAME) continue;
    lower(p, tid, DECODE_THREAD_NAMES.some((pattern) => pattern.test(name)) ? PREPROCESSING_NICE : INFERENCE_NICE);
  }
}

/** Re-applies the rule every `seconds`: thread pools grow lazily (first session, first decode). */
export function keepComputeThreadsDeprioritized(seconds: number): () => void {
  deprioritizeComputeThreads();
  const timer = setInterval(deprioritizeComputeThreads, seconds * 1000);
  timer.unref?.();
  return () => clearInterval(timer);
}
