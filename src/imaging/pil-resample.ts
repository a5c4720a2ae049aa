/**
 * Pillow's `Image.resize` for 8-bit RGB, reimplemented so that CLIP and OCR inputs match the
 * upstream Python service bit for bit (verified against Pillow 9.4; see
 * test/imaging/pil-resample.test.ts).
 *
 * The algorithm, as Pillow runs it:
 * - separable convolution: a horizontal pass (only if the width changes), then a vertical pass
 *   over that 8-bit intermediate (only if the height changes); no pass at all → a plain copy;
 * - when downscaling, the kernel is stretched by the scale factor (antialiasing), so every
 *   source pixel under the footprint contributes;
 * - per output pixel the float weights are normalised to sum 1, then turned into fixed point
 *   with PRECISION_BITS fraction bits (rounded half away from zero) and accumulated in int32
 *   starting from one half, so the final `>> PRECISION_BITS` rounds to nearest;
 * - the result is clamped to 0..255 (bicubic and lanczos overshoot near edges).
 * Every rounding step is reproduced in the same order, because a single differing coefficient
 * flips output bytes.
 */
import { resampleScratchBytes, resampleWasm } from "./pil-resample-wasm.ts";
import { type RowOutput, type RowSink, rowSink } from "./planar-row.ts";
import { DELIVERY_SCRATCH_BYTES } from "./wasm-rows.ts";
import type { RgbImage } from "./rgb-image.ts";
import { type ResampleBackend, wasmFor } from "./wasm/resample-module.ts";

export type PilFilter = "bilinear" | "bicubic" | "lanczos";

interface Kernel {
  /** Half-width of the kernel at scale 1, in source pixels. */
  readonly support: number;
  readonly weight: (x: number) => number;
}

/** Pillow's triangle filter. */
function bilinearWeight(x: number): number {
  const ax = x < 0 ? -x : x;
  return ax < 1 ? 1 - ax : 0;
}

/**
 * Keys' cubic convolution with a = -0.5 (Pillow's choice, not the a = -0.75 of OpenCV).
 * The expressions keep Pillow's evaluation order so the doubles round identically.
 */
function bicubicWeight(x: number): number {
  const a = -0.5;
  const ax = x < 0 ? -x : x;
  if (ax < 1) return ((a + 2) * ax - (a + 3)) * ax * ax + 1;
  if (ax < 2) return (((ax - 5) * ax + 8) * ax - 4) * a;
  return 0;
}

function sinc(x: number): number {
  if (x === 0) return 1;
  const px = x * Math.PI;
  return Math.sin(px) / px;
}

/** Lanczos-3; Pillow's window is half-open, [-3, 3). */
function lanczosWeight(x: number): number {
  return -3 <= x && x < 3 ? sinc(x) * sinc(x / 3) : 0;
}

const KERNELS: Record<PilFilter, Kernel> = {
  bilinear: { support: 1, weight: bilinearWeight },
  bicubic: { support: 2, weight: bicubicWeight },
  lanczos: { support: 3, weight: lanczosWeight },
};

/** 32-bit accumulator − 8 bits of result − 2 bits of headroom for kernel overshoot. */
const PRECISION_BITS = 22;
const FIXED_ONE = 1 << PRECISION_BITS;
const FIXED_HALF = 1 << (PRECISION_BITS - 1);
// The accumulators below are C ints in Pillow and never leave int32 range (|sum of weights| stays
// well under 2 for these kernels). Math.imul and `| 0` keep the JIT on int32 arithmetic, which is
// ~1.7x faster than float math here and yields the same values.

/** Fixed-point weights for one axis: output pixel i reads `count[i]` source pixels from `first[i]`. */
export interface AxisCoefficients {
  readonly first: Int32Array;
  readonly count: Int32Array;
  /** `taps` slots per output pixel; slots beyond `count[i]` are zero. */
  readonly weights: Int32Array;
  readonly taps: number;
}

/**
 * Tables computed lately, by filter and axis geometry. A thread resizes the same few geometries
 * over and over (every 1440x1080 preview to the OCR detector's 992x736, to CLIP's 224), and a
 * Lanczos table costs two sines a tap: 0.6 ms of the OCR detector input's 9 ms. The tables are
 * only read once made. Bounded in bytes, oldest first out (a Map iterates in insertion order): a
 * preview's tables take 4-45 KB, while a 100-megapixel panorama's can take megabytes, and a stream
 * of such photos must not leave them held in every worker.
 */
const recentTables = new Map<string, AxisCoefficients>();
const RECENT_TABLES_BYTES = 1 << 20;
let recentBytes = 0;

function tableBytes(table: AxisCoefficients): number {
  return table.first.byteLength + table.count.byteLength + table.weights.byteLength;
}

function cachedCoefficients(inSize: number, outSize: number, start: number, n: number, filter: PilFilter): AxisCoefficients {
  const key = `${filter} ${inSize} ${outSize} ${start} ${n}`;
  const kept = recentTables.get(key);
  if (kept) return kept;
  const table = axisCoefficients(inSize, outSize, start, n, KERNELS[filter]);
  const bytes = tableBytes(table);
  if (bytes > RECENT_TABLES_BYTES / 4) return table;
  for (const [oldest, old] of recentTables) {
    if (recentBytes + bytes <= RECENT_TABLES_BYTES) break;
    recentTables.delete(oldest);
    recentBytes -= tableBytes(old);
  }
  recentTables.set(key, table);
  recentBytes += bytes;
  return table;
}

/** Bytes of coefficient tables this thread keeps for later resizes (at most RECENT_TABLES_BYTES). */
export function keptTableBytes(): number {
  return recentBytes;
}

/** Coefficients for output pixels [start, start + n) of an inSize → outSize resampling. */
function axisCoefficients(inSize: number, outSize: number, start: number, n: number, kernel: Kernel): AxisCoefficients {
  const scale = inSize / outSize;
  // Downscaling widens the kernel so it integrates over every source pixel it covers.
  const filterScale = scale < 1 ? 1 : scale;
  const support = kernel.support * filterScale;
  const taps = Math.ceil(support) * 2 + 1;
  const invFilterScale = 1 / filterScale;

  const first = new Int32Array(n);
  const count = new Int32Array(n);
  const weights = new Int32Array(n * taps);
  const raw = new Float64Array(taps);

  for (let i = 0; i < n; i++) {
    const center = (start + i + 0.5) * scale;
    // Pillow converts with a C (int) cast, i.e. truncation toward zero, after adding 0.5.
    const lo = Math.max(0, Math.trunc(center - support + 0.5));
    const hi = Math.min(inSize, Math.trunc(center + support + 0.5));
    const span = hi - lo;
    let sum = 0;
    for (let t = 0; t < span; t++) {
      const w = kernel.weight((t + lo - center + 0.5) * invFilterScale);
      raw[t] = w;
      sum += w;
    }
    const base = i * taps;
    for (let t = 0; t < span; t++) {
      const w = sum !== 0 ? raw[t]! / sum : raw[t]!;
      // Round half away from zero, then truncate: Pillow's (int)(w * 2^22 ± 0.5).
      weights[base + t] = Math.trunc(w < 0 ? -0.5 + w * FIXED_ONE : 0.5 + w * FIXED_ONE);
    }
    first[i] = lo;
    count[i] = span;
  }
  return { first, count, weights, taps };
}

/** Fixed-point accumulator → byte, as Pillow's clip8 (arithmetic shift, then clamp). */
function toByte(acc: number): number {
  const v = acc >> PRECISION_BITS;
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

/** Horizontal pass over source rows [rowStart, rowEnd) into a `outWidth`-wide RGB buffer. */
function resampleRows(src: Uint8Array, srcWidth: number, rowStart: number, rowEnd: number, outWidth: number, c: AxisCoefficients): Uint8Array {
  const out = new Uint8Array(outWidth * (rowEnd - rowStart) * 3);
  const { first, count, weights, taps } = c;
  // Byte offset of each output column's first tap within a row, computed once for all rows.
  const firstByte = Int32Array.from(first, (x) => x * 3);
  const rowBytes = srcWidth * 3;
  const outRow = outWidth * 3;
  // Two source rows per sweep share every weight load (≈15% faster). An odd last row is read
  // twice and written once.
  for (let y = rowStart; y < rowEnd; y += 2) {
    const pair = y + 1 < rowEnd;
    const second = pair ? rowBytes : 0;
    const rowBase = y * rowBytes;
    for (let x = 0, wStart = 0, o = (y - rowStart) * outRow; x < outWidth; x++, wStart += taps, o += 3) {
      let r = FIXED_HALF;
      let g = FIXED_HALF;
      let b = FIXED_HALF;
      let r2 = FIXED_HALF;
      let g2 = FIXED_HALF;
      let b2 = FIXED_HALF;
      const wEnd = wStart + count[x]!;
      for (let t = wStart, s = rowBase + firstByte[x]!; t < wEnd; t++, s += 3) {
        const w = weights[t]!;
        const q = s + second;
        r = (r + Math.imul(src[s]!, w)) | 0;
        g = (g + Math.imul(src[s + 1]!, w)) | 0;
        b = (b + Math.imul(src[s + 2]!, w)) | 0;
        r2 = (r2 + Math.imul(src[q]!, w)) | 0;
        g2 = (g2 + Math.imul(src[q + 1]!, w)) | 0;
        b2 = (b2 + Math.imul(src[q + 2]!, w)) | 0;
      }
      out[o] = toByte(r);
      out[o + 1] = toByte(g);
      out[o + 2] = toByte(b);
      if (pair) {
        out[o + outRow] = toByte(r2);
        out[o + outRow + 1] = toByte(g2);
        out[o + outRow + 2] = toByte(b2);
      }
    }
  }
  return out;
}

/** The unfiltered rectangle [left, left + w) x [top, top + h) of an RGB buffer. */
function copyBlock(src: Uint8Array, srcWidth: number, left: number, top: number, w: number, h: number): Uint8Array {
  const out = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    const start = ((top + y) * srcWidth + left) * 3;
    out.set(src.subarray(start, start + w * 3), y * w * 3);
  }
  return out;
}

/** Vertical pass; `rowOffset` is the source row that buffer row 0 corresponds to. */
function resampleColumns(src: Uint8Array, width: number, rowOffset: number, outHeight: number, c: AxisCoefficients, sink: RowSink): void {
  const stride = width * 3;
  const out = new Uint8Array(stride);
  const { first, count, weights, taps } = c;
  for (let y = 0; y < outHeight; y++) {
    const wStart = y * taps;
    const wEnd = wStart + count[y]!;
    const top = (first[y]! - rowOffset) * stride;
    for (let i = 0; i < stride; i += 3) {
      let r = FIXED_HALF;
      let g = FIXED_HALF;
      let b = FIXED_HALF;
      for (let t = wStart, s = top + i; t < wEnd; t++, s += stride) {
        const w = weights[t]!;
        r = (r + Math.imul(src[s]!, w)) | 0;
        g = (g + Math.imul(src[s + 1]!, w)) | 0;
        b = (b + Math.imul(src[s + 2]!, w)) | 0;
      }
      out[i] = toByte(r);
      out[i + 1] = toByte(g);
      out[i + 2] = toByte(b);
    }
    sink(y, out);
  }
}

/** A rectangle of the resized image, in its pixel coordinates. */
export interface PixelWindow {
  readonly left: number;
  readonly top: number;
  readonly width: number;
  readonly height: number;
}

/**
 * `PIL.Image.resize((width, height), filter)` on an RGB image. Returns a new image backed by a
 * fresh Uint8Array; the source is only read. `backend` (see ResampleBackend) runs the passes; by
 * default wasm where available (and the image not huge: see wasmFor).
 */
export function resizePil(src: RgbImage, width: number, height: number, filter: PilFilter, backend?: ResampleBackend): RgbImage {
  return resizePilWindow(src, width, height, filter, { left: 0, top: 0, width, height }, backend);
}

/**
 * `PIL.Image.resize((width, height), filter).crop(window)`, computing only the window's pixels.
 * Every output pixel depends only on its own row and column coefficients, so the values are
 * identical to resizing everything; but a degenerate input (say 4000x1, which CLIP would scale
 * to 896000x224 before cropping 224x224) costs the window, not the full resized image.
 */
export function resizePilWindow(src: RgbImage, width: number, height: number, filter: PilFilter, window: PixelWindow, backend?: ResampleBackend): RgbImage {
  const rowLen = window.width * 3;
  const data = new Uint8Array(rowLen * window.height);
  resizePilRows(src, width, height, filter, window, (y, row) => data.set(row, y * rowLen), backend);
  return { width: window.width, height: window.height, data };
}

/**
 * The same resize, handing over the window's rows one at a time (read-only, valid during the
 * call), so that a caller turning them into a tensor needs no resized image; or, given a tensor's
 * planes instead of a sink, writing them there.
 */
export function resizePilRows(
  src: RgbImage,
  width: number,
  height: number,
  filter: PilFilter,
  window: PixelWindow,
  output: RowOutput,
  backend?: ResampleBackend,
): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`resizePil: target size must be positive integers, got ${width}x${height}`);
  }
  if (src.width < 1 || src.height < 1 || src.data.length < src.width * src.height * 3) {
    throw new RangeError(`resizePil: invalid source image ${src.width}x${src.height}`);
  }
  const { left, top } = window;
  const outW = window.width;
  const outH = window.height;
  if (![left, top, outW, outH].every(Number.isInteger) || left < 0 || top < 0 || outW < 1 || outH < 1 || left + outW > width || top + outH > height) {
    throw new RangeError(`resizePil: window ${outW}x${outH}+${left}+${top} is not inside ${width}x${height}`);
  }
  // Pillow skips a pass whose axis keeps its size; that axis is then copied unfiltered.
  const horizontal = width !== src.width ? cachedCoefficients(src.width, width, left, outW, filter) : undefined;
  const vertical = height !== src.height ? cachedCoefficients(src.height, height, top, outH, filter) : undefined;

  // Source rows the vertical pass reads (or the window's own rows when there is no such pass).
  const rowStart = vertical ? vertical.first[0]! : top;
  const rowEnd = vertical ? vertical.first[outH - 1]! + vertical.count[outH - 1]! : top + outH;
  const plan = { left, outWidth: outW, outHeight: outH, rowStart, rowEnd, horizontal, vertical };
  const wasm = wasmFor("resizePil", resampleScratchBytes(src, plan) + DELIVERY_SCRATCH_BYTES, backend);
  if (wasm) {
    resampleWasm(wasm, src, plan, output);
    return;
  }
  const sink = rowSink(output, outW);
  const rows = horizontal
    ? resampleRows(src.data, src.width, rowStart, rowEnd, outW, horizontal)
    : copyBlock(src.data, src.width, left, rowStart, outW, rowEnd - rowStart);
  if (vertical) {
    resampleColumns(rows, outW, rowStart, outH, vertical, sink);
  } else {
    const rowLen = outW * 3;
    for (let y = 0; y < outH; y++) sink(y, rows.subarray(y * rowLen, (y + 1) * rowLen));
  }
}
