/**
 * CPU priorities in three tiers, so that a saturated machine serves what matters first:
 *
 * 1. the HTTP thread and the search thread (nice MACHINE_LEARNING_SEARCH_NICE, -3 by default, where
 *    the OS lets a process raise a thread: root, CAP_SYS_NICE, or RLIMIT_NICE; else nice 0): /ping
 *    and request parsing answer at once under full load, and a search query (the CLIP text
 *    tower's runs, on an inference thread of its own, onnx-session.ts) holds its own against the
 *    other processes of an Immich host. With a nice-0 CPU hog on every core of a 2-core machine a
 *    query took 17.5× its quiet time at nice +10; 1.80–2.27× at 0, 1.56–1.87× at -3 and 1.39–1.57×
 *    at -5 (bench/RESULTS.md, busy neighbour). Someone waits for a search and it is short, so it
 *    goes before the neighbour's thumbnails. Not further: at search saturation the processes
 *    polling /ping (the Immich server) get less of the machine, and /ping's p99 read 8.0–8.3 ms at
 *    -3, 9.9–10.0 at -4 and -5, against 7.0–8.0 at 0. A flood of queries drops to tier 2 for as
 *    long as it lasts (search-backlog.ts);
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
 * at least at tier 2 and never raises one; threads the runtime starts later from the main thread
 * (the decoders, on the first photo) run at its nice until the next sweep, at most 2 s. Linux
 * only (per-thread nice); elsewhere a no-op.
 */
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { log } from "../log.ts";

export const INFERENCE_NICE = 10;
/** The search thread's nice where the OS allows it (MACHINE_LEARNING_SEARCH_NICE). */
export const DEFAULT_SEARCH_NICE = -3;
export const PREPROCESSING_NICE = 19;
/** Threads that decode images (libvips, and the runtime's pool running sharp's async work). */
const DECODE_THREAD_NAMES = [/^libvips/, /^Bun Pool/];
/**
 * The OS name of the search thread (a worker's name becomes its thread's name), which the
 * onnxruntime threads it creates inherit: the sweep below leaves their priority alone.
 */
export const SEARCH_THREAD_NAME = "ml-search";

export interface Priority {
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
  const tid = p ? currentThreadId() : undefined;
  if (p && tid !== undefined) lower(p, tid, nice);
}

/**
 * Raises the calling thread to `nice` when below 0 (threads it creates afterwards inherit it);
 * false where the OS refuses, the thread then staying where it was.
 */
export function raiseOwnPriority(nice: number, p: Priority | null = api()): boolean {
  if (!p || nice >= 0) return false;
  const tid = currentThreadId();
  return tid !== undefined && p.set(tid, nice);
}

/**
 * At start, on the main thread: the HTTP thread to `nice`, with the search thread (which raises
 * itself, thread-jobs.ts), so that /ping and request parsing do not fall behind search queries.
 * Where the OS refuses, both stay at nice 0 and this says how to allow it.
 */
export function raiseServingThread(nice: number, p: Priority | null = api()): void {
  if (!p || nice >= 0 || raiseOwnPriority(nice, p)) return;
  log.info(
    `HTTP and search threads run at nice 0: the OS refused nice ${nice} (allow it with CAP_SYS_NICE, e.g. Docker's cap_add: [SYS_NICE], or an RLIMIT_NICE of ${20 - nice}, e.g. systemd's LimitNICE=${20 - nice}; MACHINE_LEARNING_SEARCH_NICE=0 stops asking)`,
  );
}

/** This thread's id ("/proc/thread-self" → "<pid>/task/<tid>"). */
function currentThreadId(): number | undefined {
  try {
    return Number(readlinkSync("/proc/thread-self").split("/").at(-1));
  } catch (error) {
    log.debug(`cannot tell this thread's id: ${String(error)}`);
    return undefined;
  }
}

/** This process's thread ids; none where /proc cannot be read. */
function threadIds(): number[] {
  try {
    return readdirSync("/proc/self/task").map(Number);
  } catch {
    return [];
  }
}

/** From the main thread: every other thread but the search thread to at least tier 2, decoders to tier 3. */
export function deprioritizeComputeThreads(): void {
  const p = api();
  if (!p) return;
  for (const tid of threadIds()) {
    if (tid === process.pid) continue;
    const name = threadName(tid);
    if (name === SEARCH_THREAD_NAME) continue;
    lower(p, tid, DECODE_THREAD_NAMES.some((pattern) => pattern.test(name)) ? PREPROCESSING_NICE : INFERENCE_NICE);
  }
}

/**
 * Sets the nice of every search thread (the search thread and the onnxruntime threads it made,
 * which carry its name), for search-backlog.ts. Null unless the HTTP thread runs at `searchNice`
 * below 0, that is, unless the OS let this process raise threads: without that, threads moved
 * down could not come back.
 */
export function searchThreadsNiceSetter(searchNice: number, p: Priority | null = api()): ((nice: number) => void) | null {
  if (!p || searchNice >= 0 || p.get(process.pid) !== searchNice) return null;
  return (nice) => {
    for (const tid of threadIds()) if (threadName(tid) === SEARCH_THREAD_NAME) p.set(tid, nice);
  };
}

/** Re-applies the rule every `seconds`: thread pools grow lazily (first session, first decode). */
export function keepComputeThreadsDeprioritized(seconds: number): () => void {
  deprioritizeComputeThreads();
  const timer = setInterval(deprioritizeComputeThreads, seconds * 1000);
  timer.unref?.();
  return () => clearInterval(timer);
}
