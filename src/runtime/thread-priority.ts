/**
 * CPU priorities in three tiers, so that a saturated machine serves what matters first:
 *
 * 1. the HTTP thread (nice 0): /ping and request parsing answer at once under full load;
 * 2. inference (nice +10): the inference threads and the onnxruntime threads they create;
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

/** From the main thread: every other thread to at least tier 2, decoding threads to tier 3. */
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
