/**
 * The WebAssembly SIMD kernels (resample.wasm, compiled from the C beside it by
 * scripts/build-wasm.ts), instantiated lazily once per thread: the kernels run on the worker pool,
 * and each worker is its own JS realm. The module's memory is the scratch space of every call,
 * grown when a call needs more and kept for the next (a worker runs one kernel at a time).
 */
import { readFileSync } from "node:fs";
// Imported as a file so that the single executable embeds it (scripts/build.ts).
import wasmPath from "./resample.wasm" with { type: "file" };

interface ResampleExports {
  readonly memory: WebAssembly.Memory;
  readonly __heap_base: WebAssembly.Global<"i32">;
  resample_rows(
    src: number,
    srcRowBytes: number,
    rows: number,
    outWidth: number,
    firstByte: number,
    count: number,
    weights: number,
    taps: number,
    pairs: number,
    out: number,
  ): void;
  resample_columns(src: number, stride: number, outHeight: number, firstRow: number, count: number, weights: number, taps: number, out: number): void;
  resize_cv_linear(
    src: number,
    srcRowBytes: number,
    srcHeight: number,
    outWidth: number,
    outHeight: number,
    tap0: number,
    tap1: number,
    xWeights: number,
    yIndex: number,
    yW0: number,
    yW1: number,
    rows: number,
    out: number,
  ): void;
}

/**
 * Who runs a resampler's inner loops: these WebAssembly SIMD kernels (see bench/README.md for
 * how much faster), or the JavaScript of the resampler's own module, the reference and the
 * fallback where WebAssembly SIMD is missing. Both take the same coefficient tables and give the
 * same bytes.
 */
export type ResampleBackend = "js" | "wasm";

/** The fastest backend this runtime has. */
export function defaultBackend(): ResampleBackend {
  return resampleModule() ? "wasm" : "js";
}

/** This thread's module, for a caller that asked for the "wasm" backend. */
export function requireResampleModule(caller: string): ResampleModule {
  const wasm = resampleModule();
  if (!wasm) throw new Error(`${caller}: this runtime has no WebAssembly SIMD`);
  return wasm;
}

/** The kernels and a bump allocator over their memory, reset by each call's `scratch`. */
export class ResampleModule {
  private readonly heapBase: number;
  private next: number;

  constructor(readonly exports: ResampleExports) {
    this.heapBase = exports.__heap_base.value;
    this.next = this.heapBase;
  }

  /**
   * Starts a call: reserves `blocks` (byte sizes) and returns their offsets, each 16-byte aligned
   * and followed by 16 spare bytes (the kernels read and write whole vectors past a row's end).
   * Offsets from an earlier call are void.
   */
  scratch(...blocks: number[]): number[] {
    this.next = this.heapBase;
    const offsets = blocks.map((bytes) => {
      const at = align16(this.next);
      this.next = at + align16(bytes) + 16;
      return at;
    });
    const memory = this.exports.memory;
    const missing = this.next - memory.buffer.byteLength;
    if (missing > 0) memory.grow(Math.ceil(missing / 65536));
    return offsets;
  }

  /** Bytes of the memory (a fresh view: growing the memory detaches the previous ones). */
  bytes(offset: number, length: number): Uint8Array {
    return new Uint8Array(this.exports.memory.buffer, offset, length);
  }

  /** Copies `values` into the memory at `offset`. */
  writeInt32(offset: number, values: Int32Array): void {
    new Int32Array(this.exports.memory.buffer, offset, values.length).set(values);
  }
}

function align16(n: number): number {
  return (n + 15) & ~15;
}

let loaded: ResampleModule | null | undefined;

/**
 * This thread's instance, or null where the runtime has no WebAssembly or no SIMD (the callers
 * then use their JavaScript versions, which give the same bytes).
 */
function resampleModule(): ResampleModule | null {
  if (loaded === undefined) {
    const bytes = readFileSync(wasmPath);
    loaded =
      typeof WebAssembly === "object" && WebAssembly.validate(bytes)
        ? new ResampleModule(new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports as unknown as ResampleExports)
        : null;
  }
  return loaded;
}
