/**
 * Gives the server glibc's transparent-huge-page malloc (`GLIBC_TUNABLES=glibc.malloc.hugetlb=1`)
 * by re-executing the process once, in place, before anything else loads.
 *
 * Why: the fixed mmap threshold (allocator.ts) keeps RSS flat under varied traffic, but it also
 * maps every onnxruntime activation buffer over 128 KiB afresh on each run, and on kernels whose
 * THP mode is `madvise` (Ubuntu's default, and this project's build machine) each 4 KiB page of
 * it then faults in separately. Measured on the fixture SCRFD detector, one thread, 640x640:
 * 92.8 ms a run with 4 KiB pages, 81.2 ms with huge pages (83.0 ms with glibc's default
 * threshold); the OCR detector 239 → 202 ms; RSS unchanged (bench memory scenario, 760 MiB
 * loaded either way). Tunables are read by the dynamic loader at start-up only, so a running
 * process cannot switch: it has to exec itself again (same pid, arguments and open files).
 *
 * Only for the server (`serve`, the default command), only on Linux with glibc, and never when
 * GLIBC_TUNABLES already names the setting, which also stops the exec from repeating: an operator
 * keeps the last word (`GLIBC_TUNABLES=glibc.malloc.hugetlb=0` turns it off).
 */
import { readFileSync } from "node:fs";

const TUNABLE = "glibc.malloc.hugetlb";

/** `immich-ml` and `immich-ml serve …` start the server; every other command is short-lived. */
export function isServeCommand(args: readonly string[]): boolean {
  return args.length === 0 || args[0] === "serve";
}

/** NUL-terminated C strings and the NULL-terminated array of pointers to them, for execve. */
function cStringArray(values: readonly string[], ptr: (buffer: Buffer) => number): { pointers: BigUint64Array; keep: Buffer[] } {
  const keep = values.map((value) => Buffer.from(`${value}\0`, "utf8"));
  const pointers = new BigUint64Array(values.length + 1);
  keep.forEach((buffer, i) => (pointers[i] = BigInt(ptr(buffer))));
  return { pointers, keep };
}

export function reexecWithHugePageMalloc(args: readonly string[] = process.argv.slice(2)): void {
  if (process.platform !== "linux" || !isServeCommand(args)) return;
  const current = process.env.GLIBC_TUNABLES;
  if (current?.includes(TUNABLE)) return;
  try {
    const { dlopen, FFIType, ptr } = require("bun:ffi") as typeof import("bun:ffi");
    // libc.so.6 is glibc's soname: on musl this fails and the process goes on as it is.
    const libc = dlopen("libc.so.6", { execve: { args: [FFIType.ptr, FFIType.ptr, FFIType.ptr], returns: FFIType.i32 } });
    // The exact original command line (the executable's own, or `bun <script> …` from source).
    const argv = readFileSync("/proc/self/cmdline", "utf8").split("\0").slice(0, -1);
    const env = Object.entries({ ...process.env, GLIBC_TUNABLES: current ? `${current}:${TUNABLE}=1` : `${TUNABLE}=1` }).map(([k, v]) => `${k}=${v}`);
    const argvC = cStringArray(argv, (b) => ptr(b));
    const envC = cStringArray(env, (b) => ptr(b));
    const path = Buffer.from("/proc/self/exe\0");
    libc.symbols.execve(ptr(path), ptr(argvC.pointers), ptr(envC.pointers));
    // execve returned: it failed (e.g. /proc not mounted). Serve with the usual pages.
  } catch {
    // No FFI or no glibc: nothing to do.
  }
}
