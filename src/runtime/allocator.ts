/**
 * Keeps freed native memory returnable to the OS. glibc keeps freed heap pages mapped, so without
 * `malloc_trim(0)` an unloaded 500 MB session still counts in RSS (upstream calls the same
 * function after eviction), and its growing mmap threshold lets transient buffers fragment the
 * heap (`fixMmapThreshold`). A no-op where glibc is not the allocator.
 */
import { log } from "../log.ts";
import { clearTensorPool } from "./tensor-pool.ts";

type Trim = () => void;

function loadTrim(): Trim {
  if (process.platform !== "linux") return () => {};
  try {
    // Loaded lazily and only on Linux: bun:ffi is Bun-only and libc.so.6 is glibc-only.
    const { dlopen, FFIType } = require("bun:ffi") as typeof import("bun:ffi");
    const libc = dlopen("libc.so.6", { malloc_trim: { args: [FFIType.u64], returns: FFIType.i32 } });
    return () => void libc.symbols.malloc_trim(0);
  } catch (error) {
    log.debug(`malloc_trim unavailable: ${String(error)}`);
    return () => {};
  }
}

/** `M_MMAP_THRESHOLD` from glibc's malloc.h. */
const M_MMAP_THRESHOLD = -3;
/** Above the 6.2 MB a 1440 px preview (Immich's default) decodes to; see `fixMmapThreshold`. */
const MMAP_THRESHOLD_BYTES = 8 * 1024 * 1024;

/**
 * Fixes glibc's mmap threshold at 8 MiB. Left alone, glibc raises the threshold each time a large
 * block is freed (up to 32 MiB); from then on decoded images, request bodies and tensors of every
 * size come from the heap and fragment it, so under varied traffic RSS crept up by about 100 MiB
 * over 30,000 requests, beyond what malloc_trim returns (`npm run fuzz`, bench/RESULTS.md). Fixed
 * at glibc's starting 128 KiB, every decode's output (4.45 MB for a 1440x1080 photo) was a fresh
 * mapping faulted in and unmapped again: 1-3 ms of CPU a photo. At 8 MiB a preview's pixels reuse
 * heap memory, while anything larger still gets its own mapping; measured, a 6-minute mixed scan
 * answered 4.6 % more requests for 37-46 MiB more RSS under load, and RSS grew no more over 30,000
 * fuzz requests (bench/RESULTS.md). Same as `MALLOC_MMAP_THRESHOLD_=8388608`; an operator who set
 * that variable keeps their value.
 */
export function fixMmapThreshold(): void {
  if (process.platform !== "linux" || process.env.MALLOC_MMAP_THRESHOLD_ !== undefined) return;
  try {
    const { dlopen, FFIType } = require("bun:ffi") as typeof import("bun:ffi");
    const libc = dlopen("libc.so.6", { mallopt: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 } });
    if (libc.symbols.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES) !== 1) log.debug("mallopt(M_MMAP_THRESHOLD) was refused");
  } catch (error) {
    log.debug(`mallopt unavailable: ${String(error)}`);
  }
}

let trim: Trim | undefined;

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
  trim ??= loadTrim();
  trim();
}

/** A full collection of this thread's JS heap (its pooled tensors let go first); with `shrink`, its free blocks handed back too. */
export function collectGarbage(depth: ReleaseDepth): void {
  clearTensorPool();
  Bun.gc(true);
  // Deprecated, but the only way to ask for the free blocks back.
  if (depth === "shrink") Bun.shrink();
}
