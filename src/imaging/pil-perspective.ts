/**
 * Pillow's `Image.transform(size, Image.PERSPECTIVE, coeffs, Image.BICUBIC)` for RGB images,
 * with the coefficients solved so that the output rectangle's corners land on a quadrilateral:
 * how upstream cuts each detected text line out of the photo before recognition.
 *
 * Pillow's sampler, reproduced exactly:
 *   - output pixel (x, y) samples the source at H(x + 0.5, y + 0.5), H the projective map;
 *   - a sample outside [0, w) × [0, h) of the source is black (no edge extension);
 *   - inside, 4×4 taps of the cubic convolution kernel with a = −1 around the point shifted back
 *     by half a pixel; columns outside the image clamp to the edge, and a row below the image
 *     repeats the previous row's (horizontally filtered) value;
 *   - the result is clamped to [0, 255] and truncated, not rounded.
 */
import { perspectiveCropWasm } from "./pil-perspective-wasm.ts";
import type { RgbImage } from "./rgb-image.ts";
import type { ResampleBackend } from "./wasm/resample-module.ts";

/**
 * Crops the quadrilateral `corners` (x,y of top-left, top-right, bottom-right, bottom-left) from
 * `src` into a `width`×`height` image. `backend` as for the resizes (ResampleBackend): by default
 * the WebAssembly SIMD kernel where available (bench/README.md); the loop below is the reference
 * and the fallback.
 */
export function perspectiveCropPil(src: RgbImage, corners: ArrayLike<number>, width: number, height: number, backend?: ResampleBackend): RgbImage {
  if (corners.length !== 8) throw new Error(`perspectiveCropPil: expected 8 corner values, got ${corners.length}`);
  const coefficients = solveHomography([0, 0, width, 0, width, height, 0, height], corners);
  const crop = perspectiveCropWasm(backend, src, corners, coefficients, width, height);
  if (crop) return crop;
  const [a0, a1, a2, a3, a4, a5, a6, a7] = coefficients;
  const out = new Uint8Array(width * height * 3);
  for (let y = 0, o = 0; y < height; y++) {
    const yin = y + 0.5;
    for (let x = 0; x < width; x++, o += 3) {
      const xin = x + 0.5;
      const den = a6 * xin + a7 * yin + 1;
      sampleBicubic(src, (a0 * xin + a1 * yin + a2) / den, (a3 * xin + a4 * yin + a5) / den, out, o);
    }
  }
  return { width, height, data: out };
}

export type Homography = [number, number, number, number, number, number, number, number];

/**
 * Coefficients (a0…a7) of the projective map taking the points `from` onto `to` (4 points each,
 * interleaved): x' = (a0·x + a1·y + a2) / (a6·x + a7·y + 1), y' likewise with a3…a5. Upstream
 * solves the same 8 equations by a float32 SVD; this solves them exactly in double precision.
 */
export function solveHomography(from: ArrayLike<number>, to: ArrayLike<number>): Homography {
  const rows: number[][] = [];
  for (let i = 0; i < 4; i++) {
    const x = from[2 * i]!;
    const y = from[2 * i + 1]!;
    const u = to[2 * i]!;
    const v = to[2 * i + 1]!;
    rows.push([x, y, 1, 0, 0, 0, -u * x, -u * y, u]);
    rows.push([0, 0, 0, x, y, 1, -v * x, -v * y, v]);
  }
  // Gaussian elimination with partial pivoting on the augmented 8×9 system.
  for (let col = 0; col < 8; col++) {
    let pivot = col;
    for (let r = col + 1; r < 8; r++) if (Math.abs(rows[r]![col]!) > Math.abs(rows[pivot]![col]!)) pivot = r;
    if (rows[pivot]![col] === 0) throw new Error("solveHomography: degenerate quadrilateral");
    [rows[col], rows[pivot]] = [rows[pivot]!, rows[col]!];
    const p = rows[col]!;
    for (let r = 0; r < 8; r++) {
      if (r === col) continue;
      const row = rows[r]!;
      const factor = row[col]! / p[col]!;
      if (factor === 0) continue;
      for (let k = col; k < 9; k++) row[k]! -= factor * p[k]!;
    }
  }
  return rows.map((row, i) => row[8]! / row[i]!) as Homography;
}

/** Pillow's cubic kernel (a = −1) through four samples at fractional offset `d` past `v2`. */
function cubic(v1: number, v2: number, v3: number, v4: number, d: number): number {
  const p2 = -v1 + v3;
  const p3 = 2 * (v1 - v2) + v3 - v4;
  const p4 = -v1 + v2 - v3 + v4;
  return v2 + d * (p2 + d * (p3 + d * p4));
}

/**
 * Pillow's `bicubic_filter32RGB` at (xin, yin), clamped and truncated into `out[o..o+2]`; a point
 * outside the source leaves them 0. Written out per channel, without per-pixel closures or
 * buffers: it runs once per crop pixel. The double arithmetic is Pillow's, term for term.
 */
function sampleBicubic(src: RgbImage, xin: number, yin: number, out: Uint8Array, o: number): void {
  const { width: w, height: h, data } = src;
  if (!(xin >= 0 && xin < w && yin >= 0 && yin < h)) return;
  const fx = xin - 0.5;
  const fy = yin - 0.5;
  const x = Math.floor(fx) - 1;
  const y = Math.floor(fy) - 1;
  const dx = fx - (x + 1);
  const dy = fy - (y + 1);
  // Byte offsets of the four columns, clamped to the image.
  const c0 = clamp(x, w) * 3;
  const c1 = clamp(x + 1, w) * 3;
  const c2 = clamp(x + 2, w) * 3;
  const c3 = clamp(x + 3, w) * 3;
  // The first row clamps to the image; a later row outside it repeats the previous row, which
  // is the same as filtering the previous row's pixels again.
  const stride = w * 3;
  const r1 = clamp(y, h) * stride;
  const r2 = y + 1 >= 0 && y + 1 < h ? (y + 1) * stride : r1;
  const r3 = y + 2 >= 0 && y + 2 < h ? (y + 2) * stride : r2;
  const r4 = y + 3 >= 0 && y + 3 < h ? (y + 3) * stride : r3;
  for (let c = 0; c < 3; c++) {
    const v = cubic(
      cubic(data[r1 + c0 + c]!, data[r1 + c1 + c]!, data[r1 + c2 + c]!, data[r1 + c3 + c]!, dx),
      cubic(data[r2 + c0 + c]!, data[r2 + c1 + c]!, data[r2 + c2 + c]!, data[r2 + c3 + c]!, dx),
      cubic(data[r3 + c0 + c]!, data[r3 + c1 + c]!, data[r3 + c2 + c]!, data[r3 + c3 + c]!, dx),
      cubic(data[r4 + c0 + c]!, data[r4 + c1 + c]!, data[r4 + c2 + c]!, data[r4 + c3 + c]!, dx),
      dy,
    );
    out[o + c] = v <= 0 ? 0 : v >= 255 ? 255 : Math.trunc(v);
  }
}

function clamp(i: number, size: number): number {
  return i < 0 ? 0 : i < size ? i : size - 1;
}
