/**
 * `cv2.warpAffine(img, M, (width, height), flags=INTER_LINEAR, borderValue=0)` for 8-bit images,
 * reproducing OpenCV 4.x's fixed-point path (ArcFace crops are made with it and the embedding
 * must not drift from vectors Immich already stored):
 *   - M maps source to destination, so it is inverted first, in double, the way OpenCV does;
 *   - source positions are accumulated in 1/1024 pixel (AB_BITS = 10) per row and column, with
 *     round-half-even at each `saturate_cast`, then cut to 1/32 pixel (INTER_TAB_SIZE = 32);
 *   - the bilinear weights for each 1/32 step are exact products scaled to 2^15, and the weighted
 *     sum is rounded half up;
 *   - neighbours outside the source read as 0 (BORDER_CONSTANT black).
 */
import type { RgbImage } from "./rgb-image.ts";
import { roundHalfEven } from "./cv-round.ts";

const CHANNELS = 3;
const AB_BITS = 10;
const AB_SCALE = 1 << AB_BITS;
const INTER_BITS = 5;
const INTER_TAB_SIZE = 1 << INTER_BITS;
/** Half of one 1/32 step in 1/1024 units: positions round to the nearest table entry. */
const ROUND_DELTA = AB_SCALE / INTER_TAB_SIZE / 2;
const WEIGHT_SHIFT = 15;
/** The weighted sum is rounded half up before the shift. */
const HALF = 1 << (WEIGHT_SHIFT - 1);
const INT32_MAX = 2 ** 31 - 1;

/**
 * Where each output pixel samples the source, in 1/1024 pixel: output (x, y) reads at
 * (rowX[y] + colX[x], rowY[y] + colY[x]) after `| 0` and a shift by AB_BITS - INTER_BITS.
 * Shared by this file's loop and the WebAssembly one (cv-warp-affine-wasm.ts).
 */
export interface WarpPlan {
  readonly colX: Int32Array;
  readonly colY: Int32Array;
  readonly rowX: Int32Array;
  readonly rowY: Int32Array;
}

export function warpPlan(matrix: readonly number[], width: number, height: number): WarpPlan {
  if (matrix.length !== 6) throw new Error(`warpAffineCv: expected a 2x3 matrix, got ${matrix.length} numbers`);
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new Error(`warpAffineCv: invalid target size ${width}x${height}`);
  }
  const inv = invertAffine(matrix);
  const colX = new Int32Array(width);
  const colY = new Int32Array(width);
  for (let x = 0; x < width; x++) {
    colX[x] = saturateInt(inv[0] * x * AB_SCALE);
    colY[x] = saturateInt(inv[3] * x * AB_SCALE);
  }
  const rowX = new Int32Array(height);
  const rowY = new Int32Array(height);
  for (let y = 0; y < height; y++) {
    rowX[y] = saturateInt((inv[1] * y + inv[2]) * AB_SCALE) + ROUND_DELTA;
    rowY[y] = saturateInt((inv[4] * y + inv[5]) * AB_SCALE) + ROUND_DELTA;
  }
  return { colX, colY, rowX, rowY };
}

export function warpAffineCv(src: RgbImage, matrix: readonly number[], width: number, height: number): RgbImage {
  const { colX, colY, rowX: rowsX, rowY: rowsY } = warpPlan(matrix, width, height);
  const out = new Uint8Array(width * height * CHANNELS);
  const data = src.data;
  const sw = src.width;
  const sh = src.height;
  const stride = sw * CHANNELS;
  let o = 0;
  for (let y = 0; y < height; y++) {
    const rowX = rowsX[y]!;
    const rowY = rowsY[y]!;
    for (let x = 0; x < width; x++, o += CHANNELS) {
      // `| 0` wraps like OpenCV's int arithmetic; `>>` floors negative positions as C does.
      const X = ((rowX + colX[x]!) | 0) >> (AB_BITS - INTER_BITS);
      const Y = ((rowY + colY[x]!) | 0) >> (AB_BITS - INTER_BITS);
      const sx = X >> INTER_BITS;
      const sy = Y >> INTER_BITS;
      if (sx >= sw || sx < -1 || sy >= sh || sy < -1) continue; // all four taps are border: stays 0
      const fx = X & (INTER_TAB_SIZE - 1);
      const fy = Y & (INTER_TAB_SIZE - 1);
      const w00 = (INTER_TAB_SIZE - fy) * (INTER_TAB_SIZE - fx) * INTER_TAB_SIZE;
      const w01 = (INTER_TAB_SIZE - fy) * fx * INTER_TAB_SIZE;
      const w10 = fy * (INTER_TAB_SIZE - fx) * INTER_TAB_SIZE;
      const w11 = fy * fx * INTER_TAB_SIZE;
      const p = sy * stride + sx * CHANNELS;
      if (sx >= 0 && sx + 1 < sw && sy >= 0 && sy + 1 < sh) {
        // All four taps inside the source: the common case, without per-tap border tests.
        const q = p + stride;
        for (let c = 0; c < CHANNELS; c++) {
          out[o + c] = (data[p + c]! * w00 + data[p + CHANNELS + c]! * w01 + data[q + c]! * w10 + data[q + CHANNELS + c]! * w11 + HALF) >> WEIGHT_SHIFT;
        }
        continue;
      }
      const left = sx >= 0;
      const right = sx + 1 < sw;
      const top = sy >= 0;
      const bottom = sy + 1 < sh;
      for (let c = 0; c < CHANNELS; c++) {
        let sum = HALF;
        if (top && left) sum += data[p + c]! * w00;
        if (top && right) sum += data[p + CHANNELS + c]! * w01;
        if (bottom && left) sum += data[p + stride + c]! * w10;
        if (bottom && right) sum += data[p + stride + CHANNELS + c]! * w11;
        out[o + c] = sum >> WEIGHT_SHIFT;
      }
    }
  }
  return { width, height, data: out };
}

/** Inverse of a 2x3 affine map, in OpenCV's operation order; a singular map becomes all zeros. */
function invertAffine(m: readonly number[]): [number, number, number, number, number, number] {
  const [m0, m1, m2, m3, m4, m5] = m as [number, number, number, number, number, number];
  let det = m0 * m4 - m1 * m3;
  det = det !== 0 ? 1 / det : 0;
  const a0 = m4 * det;
  const a1 = m1 * -det;
  const a3 = m3 * -det;
  const a4 = m0 * det;
  return [a0, a1, -a0 * m2 - a1 * m5, a3, a4, -a3 * m2 - a4 * m5];
}

/**
 * `saturate_cast<int>(double)`: round half to even, clamp to the int32 range. NaN (a degenerate
 * alignment yields a NaN matrix) becomes INT_MIN as x86's conversion does, so such a crop repeats
 * the source's top-left pixel just like OpenCV's.
 */
function saturateInt(value: number): number {
  if (Number.isNaN(value)) return -INT32_MAX - 1;
  const r = roundHalfEven(value);
  return r > INT32_MAX ? INT32_MAX : r < -INT32_MAX - 1 ? -INT32_MAX - 1 : r;
}
