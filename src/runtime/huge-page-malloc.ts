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
 * Only for the server (`serve`, the default command), only on Linux with glibc, once: never when
 * GLIBC_TUNABLES already names the setting (an operator keeps the last word:
 * `GLIBC_TUNABLES=glibc.malloc.hugetlb=0` turns it off), never twice (a marker variable: glibc
 * strips GLIBC_TUNABLES itself from setuid or file-capability executables, which would otherwise
 * exec forever), and not at all in such secure-mode processes.
 */
import { readFileSync, realpathSync } from "node:fs";

const TUNABLE = "glibc.malloc.hugetlb";

/** `immich-ml` and `immich-ml serve …` start the server; every other command is short-lived. */
export function isServeCommand(args: readonly string[]): boolean {
  return args.length === 0 || args[0] === "serve";
}

/** Set in the re-executed process; glibc passes it through whatever the process's privileges. */
const MARKER = "IMMICH_ML_HUGE_PAGE_REEXEC";
/** `getauxval(AT_SECURE)`: non-zero for setuid/setgid or file-capability executables. */
const AT_SECURE = 23;

/** NUL-terminated C strings and the NULL-terminated array of pointers to them, for execve. */
function cStringArray(values: readonly Buffer[], ptr: (buffer: Buffer) => number): { pointers: BigUint64Array; keep: Buffer[] } {
  const keep = values.map((value) => Buffer.concat([value, Buffer.from([0])]));
  const pointers = new BigUint64Array(values.length + 1);
  keep.forEach((buffer, i) => (pointers[i] = BigInt(ptr(buffer))));
  return { pointers, keep };
}

/** The original command line, as raw bytes (a path need not be UTF-8). */
function commandLine(): Buffer[] {
  const raw = readFileSync("/proc/self/cmdline");
  const parts: Buffer[] = [];
  for (let start = 0, end = raw.indexOf(0); end !== -1; start = end + 1, end = raw.indexOf(0, start)) parts.push(raw.subarray(start, end));
  return parts;
}

export function reexecWithHugePageMalloc(args: readonly string[] = process.argv.slice(2)): void {
  if (process.platform !== "linux" || !isServeCommand(args)) return;
  const current = process.env.GLIBC_TUNABLES;
  if (current?.includes(TUNABLE) || process.env[MARKER] !== undefined) return;
  let libc;
  try {
    const { dlopen, FFIType, ptr } = require("bun:ffi") as typeof import("bun:ffi");
    // libc.so.6 is glibc's soname: on musl this fails and the process goes on as it is.
    libc = dlopen("libc.so.6", {
      execve: { args: [FFIType.ptr, FFIType.ptr, FFIType.ptr], returns: FFIType.i32 },
      getauxval: { args: [FFIType.u64], returns: FFIType.u64 },
    });
    if (Number(libc.symbols.getauxval(AT_SECURE)) !== 0) return;
    const env = { ...process.env, GLIBC_TUNABLES: current ? `${current}:${TUNABLE}=1` : `${TUNABLE}=1`, [MARKER]: "1" };
    const argvC = cStringArray(commandLine(), (b) => ptr(b));
    const envC = cStringArray(
      Object.entries(env).map(([k, v]) => Buffer.from(`${k}=${v}`)),
      (b) => ptr(b),
    );
    // The real path, not /proc/self/exe: the kernel names the process after the file it runs.
    const path = Buffer.from(`${realpathSync("/proc/self/exe")}\0`);
    libc.symbols.execve(ptr(path), ptr(argvC.pointers), ptr(envC.pointers));
    console.error("immich-ml: could not re-execute with huge-page malloc; serving with 4 KiB pages");
  } catch {
    // No FFI or no glibc: nothing to do.
  } finally {
    libc?.close();
  }
}
