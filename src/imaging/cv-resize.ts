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
import { roundHalfEven } from "./cv-round.ts";

const CHANNELS = 3;
const COEF_BITS = 11;
const COEF_SCALE = 1 << COEF_BITS;

/** Per destination column or row: first source index, and the two fixed-point weights. */
interface AxisTaps {
  readonly index: Int32Array;
  readonly w0: Int32Array;
  readonly w1: Int32Array;
}

export function resizeCvLinear(src: RgbImage, width: number, height: number): RgbImage {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new Error(`resizeCvLinear: invalid target size ${width}x${height}`);
  }
  if (src.width <= 0 || src.height <= 0) throw new Error("resizeCvLinear: empty source image");
  if (width === src.width && height === src.height) {
    return { width, height, data: src.data.slice(0, width * height * CHANNELS) };
  }
  if (src.width === width * 2 && src.height === height * 2) return halve(src, width, height);

  const xs = axisTaps(src.width, width, true);
  const ys = axisTaps(src.height, height, false);
  const rowLen = width * CHANNELS;
  const lastRow = src.height - 1;
  // Source rows only move down from one output row to the next, so the two horizontally
  // filtered rows of the previous output row are reused when the next one reads them again.
  let row0 = new Int32Array(rowLen);
  let row1 = new Int32Array(rowLen);
  let have0 = -1;
  let have1 = -1;

  const out = new Uint8Array(rowLen * height);
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
        filterRow(src, y0, xs, row0);
        have0 = y0;
      }
    }
    if (have1 !== y1) {
      filterRow(src, y1, xs, row1);
      have1 = y1;
    }
    const b0 = ys.w0[dy]!;
    const b1 = ys.w1[dy]!;
    const base = dy * rowLen;
    for (let i = 0; i < rowLen; i++) {
      const v = (((b0 * (row0[i]! >> 4)) >> 16) + ((b1 * (row1[i]! >> 4)) >> 16) + 2) >> 2;
      out[base + i] = v > 255 ? 255 : v;
    }
  }
  return { width, height, data: out };
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

/** Horizontal pass over source row `sy` into `row`. */
function filterRow(src: RgbImage, sy: number, xs: AxisTaps, row: Int32Array): void {
  const { index, w0, w1 } = xs;
  const data = src.data;
  const base = sy * src.width * CHANNELS;
  const lastX = src.width - 1;
  const width = index.length;
  for (let dx = 0, o = 0; dx < width; dx++, o += CHANNELS) {
    const x = index[dx]!;
    const p0 = base + x * CHANNELS;
    // At the right edge the second tap has weight 0; clamping only keeps the read in bounds.
    const p1 = base + (x < lastX ? x + 1 : lastX) * CHANNELS;
    const a0 = w0[dx]!;
    const a1 = w1[dx]!;
    row[o] = data[p0]! * a0 + data[p1]! * a1;
    row[o + 1] = data[p0 + 1]! * a0 + data[p1 + 1]! * a1;
    row[o + 2] = data[p0 + 2]! * a0 + data[p1 + 2]! * a1;
  }
}

/** OpenCV's fast INTER_AREA for an exact 2:1 reduction: 2x2 box sum, rounded half up. */
function halve(src: RgbImage, width: number, height: number): RgbImage {
  const out = new Uint8Array(width * height * CHANNELS);
  const stride = src.width * CHANNELS;
  const data = src.data;
  let o = 0;
  for (let y = 0; y < height; y++) {
    const top = 2 * y * stride;
    for (let x = 0; x < width; x++) {
      const p = top + 2 * x * CHANNELS;
      for (let c = 0; c < CHANNELS; c++, o++) {
        out[o] = (data[p + c]! + data[p + CHANNELS + c]! + data[p + stride + c]! + data[p + stride + CHANNELS + c]! + 2) >> 2;
      }
    }
  }
  return { width, height, data: out };
}
