/**
 * `cv2.resize(img, (width, height))` (INTER_LINEAR) for 8-bit images, bit-exact with OpenCV 4.x.
 *
 * Upstream's face detector and OCR letterbox through this call, and the detector's scores and
 * boxes move visibly when the resized pixels differ, so the port reproduces OpenCV's integer
 * path rather than an ideal bilinear filter:
 *   - source coordinate of a destination pixel: `(d + 0.5) * scale - 0.5`, computed in double
 *     then narrowed to float32, with `scale = 1 / (dst / src)` exactly as OpenCV derives it;
 *   - weights are quantised to 11 fractional bits (INTER_RESIZE_COEF_BITS) from float32;
 *   - horizontal pass keeps 22-bit sums; the vertical pass drops 4 bits, keeps the high half of a
 *     16x16-bit product per row, and rounds the last 2 bits (OpenCV's SIMD-friendly 8U path);
 *   - horizontally, taps left of the first pixel or at/after the last collapse to that edge pixel
 *     with weight 1; vertically the weights stay and the row index is clamped instead;
 *   - an exact 2:1 reduction on both axes is handed to OpenCV's fast INTER_AREA 2x2 box average,
 *     which rounds differently, so it is reproduced as well.
 */
import type { RgbImage } from "./rgb-image.ts";
import { cvLinearScratchBytes, resizeCvLinearWasm } from "./cv-resize-wasm.ts";
import { roundHalfEven } from "./cv-round.ts";
import { type RowOutput, type RowSink, rowSink } from "./planar-row.ts";
import { DELIVERY_SCRATCH_BYTES } from "./wasm-rows.ts";
import { type ResampleBackend, wasmFor } from "./wasm/resample-module.ts";

const CHANNELS = 3;
const COEF_BITS = 11;
const COEF_SCALE = 1 << COEF_BITS;

/** Per destination column or row: first source index, and the two fixed-point weights. */
export interface AxisTaps {
  readonly index: Int32Array;
  readonly w0: Int32Array;
  readonly w1: Int32Array;
}

/**
 * `backend` (see ResampleBackend) runs the general case's loops, the special cases stay in
 * JavaScript; by default wasm where available (and the image not huge: see wasmFor).
 */
export function resizeCvLinear(src: RgbImage, width: number, height: number, backend?: ResampleBackend): RgbImage {
  const rowLen = width * CHANNELS;
  const out = new Uint8Array(rowLen * height);
  resizeCvLinearRows(src, width, height, (y, row) => out.set(row, y * rowLen), backend);
  return { width, height, data: out };
}

/**
 * The same resize, handing over one output row at a time, so that a caller that converts the
 * pixels anyway (e.g. to a normalised planar tensor) needs no intermediate image. The row is
 * read-only: its buffer is reused for the next row (or is a view of the source, when sizes are equal).
 * Given a tensor's planes instead of a sink, the rows are written there.
 */
export function resizeCvLinearRows(src: RgbImage, width: number, height: number, output: RowOutput, backend?: ResampleBackend): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new Error(`resizeCvLinear: invalid target size ${width}x${height}`);
  }
  if (src.width <= 0 || src.height <= 0) throw new Error("resizeCvLinear: empty source image");
  const rowLen = width * CHANNELS;
  const sink = rowSink(output, width);
  if (width === src.width && height === src.height) {
    for (let y = 0; y < height; y++) sink(y, src.data.subarray(y * rowLen, (y + 1) * rowLen));
    return;
  }
  if (src.width === width * 2 && src.height === height * 2) {
    halveRows(src, width, height, sink);
    return;
  }

  const xs = axisTaps(src.width, width, true);
  const ys = axisTaps(src.height, height, false);
  // Byte offsets of each column's two taps within a source row; at the right edge the second tap
  // has weight 0, and clamping it only keeps the read in bounds.
  const tap0 = new Int32Array(width);
  const tap1 = new Int32Array(width);
  for (let dx = 0; dx < width; dx++) {
    const x = xs.index[dx]!;
    tap0[dx] = x * CHANNELS;
    tap1[dx] = Math.min(x + 1, src.width - 1) * CHANNELS;
  }
  const wasm = wasmFor("resizeCvLinear", cvLinearScratchBytes(src, width, ys) + DELIVERY_SCRATCH_BYTES, backend);
  if (wasm) {
    resizeCvLinearWasm(wasm, src, width, height, { tap0, tap1, xs, ys }, output);
    return;
  }
  const lastRow = src.height - 1;
  // Source rows only move down from one output row to the next, so the two horizontally
  // filtered rows of the previous output row are reused when the next one reads them again.
  let row0 = new Int32Array(rowLen);
  let row1 = new Int32Array(rowLen);
  let have0 = -1;
  let have1 = -1;
  const srcStride = src.width * CHANNELS;
  const filter = (sy: number, row: Int32Array) => filterRow(src.data, sy * srcStride, tap0, tap1, xs, row);

  const out = new Uint8Array(rowLen);
  for (let dy = 0; dy < height; dy++) {
    const sy = ys.index[dy]!;
    const y0 = Math.min(Math.max(sy, 0), lastRow);
    const y1 = Math.min(Math.max(sy + 1, 0), lastRow);
    if (have0 !== y0) {
      if (have1 === y0) {
        [row0, row1] = [row1, row0];
        have0 = y0;
        have1 = -1;
      } else {
        filter(y0, row0);
        have0 = y0;
      }
    }
    if (have1 !== y1) {
      filter(y1, row1);
      have1 = y1;
    }
    const b0 = ys.w0[dy]!;
    const b1 = ys.w1[dy]!;
    for (let i = 0; i < rowLen; i++) {
      const v = (((b0 * (row0[i]! >> 4)) >> 16) + ((b1 * (row1[i]! >> 4)) >> 16) + 2) >> 2;
      out[i] = v > 255 ? 255 : v;
    }
    sink(dy, out);
  }
}

function axisTaps(srcLen: number, dstLen: number, collapseEdges: boolean): AxisTaps {
  const scale = 1 / (dstLen / srcLen);
  const index = new Int32Array(dstLen);
  const w0 = new Int32Array(dstLen);
  const w1 = new Int32Array(dstLen);
  for (let d = 0; d < dstLen; d++) {
    const pos = Math.fround((d + 0.5) * scale - 0.5);
    let s = Math.floor(pos);
    let frac = Math.fround(pos - s);
    if (collapseEdges && s < 0) {
      s = 0;
      frac = 0;
    }
    if (collapseEdges && s >= srcLen - 1) {
      s = srcLen - 1;
      frac = 0;
    }
    index[d] = s;
    w0[d] = roundHalfEven(Math.fround(1 - frac) * COEF_SCALE);
    w1[d] = roundHalfEven(frac * COEF_SCALE);
  }
  return { index, w0, w1 };
}

/** Horizontal pass over the source row starting at byte `start` of `data` into `row`. */
function filterRow(data: Uint8Array, start: number, tap0: Int32Array, tap1: Int32Array, xs: AxisTaps, row: Int32Array): void {
  const { w0, w1 } = xs;
  const width = tap0.length;
  for (let dx = 0, o = 0; dx < width; dx++, o += CHANNELS) {
    const p0 = start + tap0[dx]!;
    const p1 = start + tap1[dx]!;
    const a0 = w0[dx]!;
    const a1 = w1[dx]!;
    row[o] = data[p0]! * a0 + data[p1]! * a1;
    row[o + 1] = data[p0 + 1]! * a0 + data[p1 + 1]! * a1;
    row[o + 2] = data[p0 + 2]! * a0 + data[p1 + 2]! * a1;
  }
}

/** OpenCV's fast INTER_AREA for an exact 2:1 reduction: 2x2 box sum, rounded half up. */
function halveRows(src: RgbImage, width: number, height: number, sink: RowSink): void {
  const out = new Uint8Array(width * CHANNELS);
  const stride = src.width * CHANNELS;
  const data = src.data;
  for (let y = 0; y < height; y++) {
    const top = 2 * y * stride;
    for (let x = 0, o = 0; x < width; x++) {
      const p = top + 2 * x * CHANNELS;
      for (let c = 0; c < CHANNELS; c++, o++) {
        out[o] = (data[p + c]! + data[p + CHANNELS + c]! + data[p + stride + c]! + data[p + stride + CHANNELS + c]! + 2) >> 2;
      }
    }
    sink(y, out);
  }
}
