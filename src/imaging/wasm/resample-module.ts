/**
 * The WebAssembly SIMD kernels (resample.wasm, compiled from the C beside it by
 * scripts/build-wasm.ts), instantiated lazily once per thread: the kernels run on the worker pool,
 * and each worker is its own JS realm. The module's memory is the scratch space of every call,
 * grown when a call needs more and kept for the next up to RETAINED_LIMIT (a worker runs one
 * kernel at a time).
 */
import { readFileSync } from "node:fs";
// Imported as a file so that the single executable embeds it (scripts/build.ts).
import wasmPath from "./resample.wasm" with { type: "file" };
import type { RgbImage } from "../rgb-image.ts";

interface ResampleExports {
  readonly memory: WebAssembly.Memory;
  readonly __heap_base: WebAssembly.Global<"i32">;
  pack_pairs(outputs: number, count: number, weights: number, taps: number, pairs: number): number;
  resample_rows(
    src: number,
    srcRowBytes: number,
    rows: number,
    outWidth: number,
    firstByte: number,
    count: number,
    pairs: number,
    pairSlots: number,
    out: number,
  ): void;
  resample_columns(src: number, stride: number, outHeight: number, firstRow: number, count: number, pairs: number, pairSlots: number, out: number): void;
  resize_cv_linear(
    src: number,
    srcRowBytes: number,
    srcFirstRow: number,
    srcHeight: number,
    outWidth: number,
    outHeight: number,
    tap: number,
    xWeights: number,
    yIndex: number,
    yW0: number,
    yW1: number,
    rows: number,
    cache: number,
    out: number,
  ): void;
  perspective_bicubic(
    src: number,
    stride: number,
    left: number,
    top: number,
    columns: number,
    rows: number,
    imageWidth: number,
    imageHeight: number,
    coefficients: number,
    width: number,
    height: number,
    out: number,
  ): number;
  planar_floats(src: number, count: number, c0: number, c1: number, c2: number, tables: number, out: number, planeStride: number): void;
  planar_affine(src: number, count: number, c0: number, c1: number, c2: number, offset: number, scale: number, out: number, planeStride: number): void;
  warp_affine_planar(
    src: number,
    stride: number,
    left: number,
    top: number,
    imageWidth: number,
    imageHeight: number,
    colX: number,
    colY: number,
    rowX: number,
    rowY: number,
    width: number,
    height: number,
    offset: number,
    divisor: number,
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

/**
 * Calls needing more scratch run in JavaScript unless "wasm" is asked for, so that the module's
 * memory stays bounded: the kernels copy in only the rows or region they read, a band at a time,
 * but a resize holds its intermediate rows there (a 100-megapixel photo, the default
 * MACHINE_LEARNING_MAX_IMAGE_PIXELS, resized to a few thousand pixels wide would hold tens of
 * MB). The 1440 px previews Immich sends need a few MB.
 */
const AUTO_SCRATCH_LIMIT = 64 << 20;
/** Memory kept for the next call; a call that grew it further gets a fresh instance afterwards. */
const RETAINED_LIMIT = 16 << 20;

/**
 * The module to run a call that needs about `scratchBytes` on, or null for the JavaScript loops:
 * `backend` decides when given ("wasm" throws where this runtime lacks WebAssembly SIMD), else
 * wasm where available for calls within AUTO_SCRATCH_LIMIT.
 */
export function wasmFor(caller: string, scratchBytes: number, backend: ResampleBackend | undefined): ResampleModule | null {
  if (backend === "js") return null;
  const wasm = resampleModule();
  if (backend === "wasm" && !wasm) throw new Error(`${caller}: this runtime has no WebAssembly SIMD`);
  return backend === "wasm" || scratchBytes <= AUTO_SCRATCH_LIMIT ? wasm : null;
}

/** The kernels and a bump allocator over their memory, reset by each call's `scratch`. */
export class ResampleModule {
  private instance: WebAssembly.Instance;
  private readonly heapBase: number;
  private next: number;

  constructor(private readonly module: WebAssembly.Module) {
    this.instance = new WebAssembly.Instance(module);
    this.heapBase = this.exports.__heap_base.value;
    this.next = this.heapBase;
  }

  get exports(): ResampleExports {
    return this.instance.exports as unknown as ResampleExports;
  }

  /**
   * Starts a call: reserves `blocks` (byte sizes) and returns their offsets, each 16-byte aligned
   * and followed by 16 spare bytes (the kernels read and write whole vectors past a row's end).
   * Offsets from an earlier call are void.
   */
  scratch(...blocks: number[]): number[] {
    this.next = this.heapBase;
    return this.reserve(...blocks);
  }

  /**
   * More blocks for the call in progress, after those `scratch` and earlier `reserve`s returned
   * (which stay valid; views of the memory may not, as for `scratch`).
   */
  reserve(...blocks: number[]): number[] {
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

  /**
   * Ends a call (after its output has been read): memory grown past RETAINED_LIMIT is dropped with
   * its instance, so that one large image does not pin it for the thread's lifetime.
   */
  finish(): void {
    if (this.exports.memory.buffer.byteLength > RETAINED_LIMIT) this.instance = new WebAssembly.Instance(this.module);
  }

  /**
   * Copies the `columns` x `rows` pixels of `image` from (left, top) into the memory at `offset`,
   * row after row (`columns * 3` bytes each): the part of a photo a crop reads.
   */
  writeRegion(offset: number, image: RgbImage, left: number, top: number, columns: number, rows: number): void {
    const rowBytes = columns * 3;
    const imageStride = image.width * 3;
    // Buffer#copy takes the row's bounds where TypedArray#set needs a view made for each row: a
    // face crop's 145 rows of a 1440 px photo in 4–6 µs instead of 8–12.
    const from = Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength);
    const into = Buffer.from(this.exports.memory.buffer, offset, rowBytes * rows);
    for (let y = 0; y < rows; y++) {
      const start = (top + y) * imageStride + left * 3;
      from.copy(into, y * rowBytes, start, start + rowBytes);
    }
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
    loaded = typeof WebAssembly === "object" && WebAssembly.validate(bytes) ? new ResampleModule(new WebAssembly.Module(bytes)) : null;
  }
  return loaded;
}
