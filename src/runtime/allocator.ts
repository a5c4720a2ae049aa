/**
 * Hands freed native memory back to the OS after models are unloaded. glibc keeps freed heap
 * pages mapped, so without `malloc_trim(0)` an unloaded 500 MB session still counts in RSS
 * (upstream calls the same function after eviction). A no-op where glibc is not the allocator.
 */
import { log } from "../log.ts";

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

let trim: Trim | undefined;

export function releaseFreedMemory(): void {
  Bun.gc(true);
  trim ??= loadTrim();
  trim();
}
