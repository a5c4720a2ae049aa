/**
 * Keeps the HTTP thread responsive under full load: every other thread of the process
 * (onnxruntime's compute threads, the pre-processing workers, libuv's decode threads) is moved
 * to a lower CPU priority (nice +10), so when all cores are busy the scheduler still runs the
 * event loop at once and /ping answers in milliseconds. Throughput is unchanged: the compute
 * threads still get every cycle the event loop does not need. Linux only (per-thread nice);
 * elsewhere a no-op.
 */
import { readdirSync } from "node:fs";
import { log } from "../log.ts";

const NICE = 10;
const reniced = new Set<number>();
let setPriority: ((tid: number, value: number) => number) | undefined;

function loadSetPriority(): ((tid: number, value: number) => number) | undefined {
  if (process.platform !== "linux") return undefined;
  try {
    const { dlopen, FFIType } = require("bun:ffi") as typeof import("bun:ffi");
    // setpriority(PRIO_PROCESS, tid, nice) applies to one thread on Linux.
    const libc = dlopen("libc.so.6", { setpriority: { args: [FFIType.i32, FFIType.u32, FFIType.i32], returns: FFIType.i32 } });
    return (tid, value) => libc.symbols.setpriority(0, tid, value);
  } catch (error) {
    log.debug(`per-thread priorities unavailable: ${String(error)}`);
    return undefined;
  }
}

/** Lowers the priority of every thread but the main one that has not been lowered yet. */
export function deprioritizeComputeThreads(): void {
  setPriority ??= loadSetPriority();
  if (!setPriority) return;
  let tids: string[];
  try {
    tids = readdirSync("/proc/self/task");
  } catch {
    return;
  }
  for (const entry of tids) {
    const tid = Number(entry);
    if (tid === process.pid || reniced.has(tid)) continue;
    if (setPriority(tid, NICE) === 0) reniced.add(tid);
  }
}

/** Re-applies the rule every `seconds`: thread pools grow lazily (first session, first decode). */
export function keepComputeThreadsDeprioritized(seconds: number): () => void {
  deprioritizeComputeThreads();
  const timer = setInterval(deprioritizeComputeThreads, seconds * 1000);
  timer.unref?.();
  return () => clearInterval(timer);
}
