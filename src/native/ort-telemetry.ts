/**
 * onnxruntime 1.30 collects telemetry (files under $TMPDIR and ~/.cache/Microsoft, HTTPS uploads)
 * unless ORT_DISABLE_TELEMETRY is set in the C environment when it loads. Under Bun, assigning
 * `process.env` does not reach the C library's getenv(), so libc's setenv is called directly.
 */
import { dlopen } from "bun:ffi";

const LIBC = process.platform === "darwin" ? "/usr/lib/libSystem.B.dylib" : "libc.so.6";

export function disableOrtTelemetry(): void {
  const libc = dlopen(LIBC, { setenv: { args: ["cstring", "cstring", "i32"], returns: "i32" } });
  // overwrite = 0: a value the user set explicitly wins.
  libc.symbols.setenv(Buffer.from("ORT_DISABLE_TELEMETRY\0"), Buffer.from("1\0"), 0);
  libc.close();
}
