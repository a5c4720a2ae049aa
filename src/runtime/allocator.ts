/**
 * Keeps freed native memory returnable to the OS. glibc keeps freed heap pages mapped, so without
 * `malloc_trim(0)` an unloaded 500 MB session still counts in RSS (upstream calls the same
 * function after eviction), and its growing mmap threshold lets transient buffers fragment the
 * heap (`fixMallocThresholds`). A no-op where glibc is not the allocator.
 */
import { log } from "../log.ts";
import { clearTensorPool } from "./tensor-pool.ts";

/** The glibc functions used here, bound on first use; null where glibc is not the allocator. */
interface Glibc {
  mallopt(param: number, value: number): number;
  malloc_trim(pad: number): number;
}

let glibc: Glibc | null | undefined;

function loadGlibc(): Glibc | null {
  if (process.platform !== "linux") return null;
  try {
    // Loaded lazily and only on Linux: bun:ffi is Bun-only and libc.so.6 is glibc-only.
    const { dlopen, FFIType } = require("bun:ffi") as typeof import("bun:ffi");
    const libc = dlopen("libc.so.6", {
      mallopt: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 },
      malloc_trim: { args: [FFIType.u64], returns: FFIType.i32 },
    });
    return libc.symbols;
  } catch (error) {
    log.debug(`glibc's malloc functions unavailable: ${String(error)}`);
    return null;
  }
}

function libc(): Glibc | null {
  if (glibc === undefined) glibc = loadGlibc();
  return glibc;
}

/** `M_TRIM_THRESHOLD` and `M_MMAP_THRESHOLD` from glibc's malloc.h. */
const M_TRIM_THRESHOLD = -1;
const M_MMAP_THRESHOLD = -3;
/** Above the 6.2 MB a 1440 px preview (Immich's default) decodes to; see `fixMallocThresholds`. */
const MMAP_THRESHOLD_BYTES = 8 * 1024 * 1024;
/** Room for two decoded 1440 px previews at the top of a heap; see `fixMallocThresholds`. */
const BUSY_TRIM_THRESHOLD_BYTES = 16 * 1024 * 1024;
/** glibc's own trim threshold, which it keeps once the mmap threshold is fixed. */
const IDLE_TRIM_THRESHOLD_BYTES = 128 * 1024;

/** Whether the trim threshold is ours to move (an operator's MALLOC_TRIM_THRESHOLD_ is not). */
let managingTrim = false;
/** Whether the trim threshold is at BUSY_TRIM_THRESHOLD_BYTES now. */
let keepingTops = false;

/**
 * Fixes glibc's mmap threshold at 8 MiB, and its trim threshold at 16 MiB from a decode to the
 * next idle release.
 *
 * The mmap threshold: left alone, glibc raises it each time a large block is freed (up to 32 MiB);
 * from then on decoded images, request bodies and tensors of every size come from the heap and
 * fragment it, so under varied traffic RSS crept up by about 100 MiB over 30,000 requests, beyond
 * what malloc_trim returns (`npm run fuzz`, bench/RESULTS.md). Fixed at glibc's starting 128 KiB,
 * every decode's output (4.45 MB for a 1440x1080 photo) was a fresh mapping faulted in and
 * unmapped again: 1-3 ms of CPU a photo. At 8 MiB a preview's pixels come from the heap, while
 * anything larger still gets its own mapping; measured, a 6-minute mixed scan answered 4.6 % more
 * requests for 37-46 MiB more RSS under load, and RSS grew no more over 30,000 fuzz requests
 * (bench/RESULTS.md). Same as `MALLOC_MMAP_THRESHOLD_=8388608`.
 *
 * The trim threshold: a fixed mmap threshold also fixes glibc's trim threshold, at 128 KiB, so a
 * freed decode output at the top of its thread's heap went back to the OS at once and the next
 * decode faulted its 1,140 pages in again, where a plain process, whose thresholds grow, keeps
 * them: about half the service's sequential CLIP image decodes took 11-33 ms, the others 6.5-9
 * (bench/RESULTS.md). At 16 MiB a heap's free top keeps up to two such images between requests:
 * `keepHeapTops` raises it before a decode, `releaseFreedMemory` lowers it again and leaves it low
 * while the service is idle, so that the decode outputs its collection frees (their finalizers
 * may run after it) take their heap's free top back to the OS as before. The price: 20-40 MiB more
 * RSS under a mixed scan (bench/RESULTS.md, 60488c8), none at rest. Called on the main thread,
 * which decodes and releases.
 * A threshold an operator set (MALLOC_MMAP_THRESHOLD_, MALLOC_TRIM_THRESHOLD_ or the same in
 * GLIBC_TUNABLES) keeps its value.
 */
export function fixMallocThresholds(): void {
  const c = libc();
  if (!c) return;
  if (!operatorSet("MALLOC_MMAP_THRESHOLD_", "mmap_threshold") && c.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES) !== 1) {
    log.debug("mallopt(M_MMAP_THRESHOLD) was refused");
  }
  managingTrim = !operatorSet("MALLOC_TRIM_THRESHOLD_", "trim_threshold");
}

function operatorSet(variable: string, tunable: string): boolean {
  return process.env[variable] !== undefined || (process.env.GLIBC_TUNABLES ?? "").includes(`glibc.malloc.${tunable}=`);
}

/** Lets heap tops keep freed memory for the next large block (see `fixMallocThresholds`); cheap when already so. */
export function keepHeapTops(): void {
  if (!managingTrim || keepingTops) return;
  keepingTops = libc()?.mallopt(M_TRIM_THRESHOLD, BUSY_TRIM_THRESHOLD_BYTES) === 1;
}

/**
 * How far a release goes. `collect`: a full collection of the JS heap; the JIT's compiled code
 * stays. `shrink`: also the heap's free blocks handed back (a collection alone leaves them
 * mapped: 3-10 MB on a loaded service), which throws away every compiled function with them:
 * the next requests then run the kernels in the JIT's lowest tiers (OCR's, measured: 225 ms a
 * request warm, 325 ms for the first three after a shrink, kernels 2-4x slower). So a service
 * that is only between requests collects; one whose models were all evicted shrinks.
 */
export type ReleaseDepth = "collect" | "shrink";

/** This thread's JS garbage, then glibc's free pages, back to the OS. */
export function releaseFreedMemory(depth: ReleaseDepth): void {
  collectGarbage(depth);
  trimNativeHeap();
}

/**
 * glibc's free pages back to the OS, without a collection: for native memory freed since the last
 * `releaseFreedMemory` (onnxruntime's arena), when the JS heaps have made no garbage worth a full
 * collection, which takes the HTTP thread 14-18 ms on a loaded service (/ping waits meanwhile).
 */
export function trimNativeHeap(): void {
  const c = libc();
  if (keepingTops) {
    // Blocks freed from now on take their heap's free top with them, until `keepHeapTops`.
    c?.mallopt(M_TRIM_THRESHOLD, IDLE_TRIM_THRESHOLD_BYTES);
    keepingTops = false;
  }
  c?.malloc_trim(0);
}

/** A full collection of this thread's JS heap (its pooled tensors let go first); with `shrink`, its free blocks handed back too. */
export function collectGarbage(depth: ReleaseDepth): void {
  clearTensorPool();
  Bun.gc(true);
  // Deprecated, but the only way to ask for the free blocks back.
  if (depth === "shrink") Bun.shrink();
}
