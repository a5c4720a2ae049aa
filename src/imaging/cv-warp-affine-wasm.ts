/**
 * `warpAffineCv` (cv-warp-affine.ts) run by the WebAssembly SIMD kernel
 * (src/imaging/wasm/cv-warp-affine.c), each value written straight into a float32 tensor of three
 * RGB planes, normalised there. Only the part of the source the crop reads is copied in: a face's
 * 112x112 crop reads a few hundred pixels square of a 1440 px photo.
 */
import type { WarpPlan } from "./cv-warp-affine.ts";
import type { RgbImage } from "./rgb-image.ts";
import { type ResampleBackend, wasmFor } from "./wasm/resample-module.ts";

/**
 * `(byte - offset) / divisor`, which the kernel computes in float32, four values at a time, instead
 * of looking each value up in a byte table and storing it alone. For an `offset` and a `divisor`
 * that are float32 values, with `byte - offset` exact in float32 (an offset in halves, say), that
 * is the float a table of the same formula holds (`byteTable`: computed in double, stored as
 * float32): the subtraction is exact in both, and a quotient rounded to double and then to float32
 * is the correctly rounded float32 quotient, because double carries more than twice float32's
 * precision plus two bits (Figueroa, "When is double rounding innocuous?", 1995).
 */
export interface ByteNormalisation {
  readonly offset: number;
  readonly divisor: number;
}

/** Positions are in 1/1024 pixel, taps in whole pixels: 10 bits apart. */
const POSITION_TO_PIXEL = 10;
/** Beyond this, a position sum could wrap around int32 and the reads could not be bounded: JavaScript's turn. */
const SAFE_POSITION = 2 ** 29;

/** The smallest value of one of a plan's arrays: each is monotonic (a linear term, rounded and clamped), so one of its ends. */
function lowest(values: Int32Array): number {
  return Math.min(values[0]!, values[values.length - 1]!);
}

/** The largest value of one of a plan's arrays. */
function highest(values: Int32Array): number {
  return Math.max(values[0]!, values[values.length - 1]!);
}

/** The source rectangle (whole pixels, inclusive) every tap of the crop inside the image falls in, or null. */
function readRegion(plan: WarpPlan, image: RgbImage): { left: number; top: number; right: number; bottom: number } | null {
  // Each axis' position is a column term plus a row term: its extremes are the sums of theirs.
  const lowX = lowest(plan.colX) + lowest(plan.rowX);
  const highX = highest(plan.colX) + highest(plan.rowX);
  const lowY = lowest(plan.colY) + lowest(plan.rowY);
  const highY = highest(plan.colY) + highest(plan.rowY);
  if (Math.max(Math.abs(lowX), Math.abs(highX), Math.abs(lowY), Math.abs(highY)) > SAFE_POSITION) return null;
  const left = Math.max(0, lowX >> POSITION_TO_PIXEL);
  const right = Math.min(image.width - 1, (highX >> POSITION_TO_PIXEL) + 1);
  const top = Math.max(0, lowY >> POSITION_TO_PIXEL);
  const bottom = Math.min(image.height - 1, (highY >> POSITION_TO_PIXEL) + 1);
  return left <= right && top <= bottom ? { left, top, right, bottom } : null;
}

/**
 * Writes the warped crop (`width` x `height`) into `tensor` from `offset`, plane after plane, each
 * byte normalised as `normalisation` says. False (nothing written) when the crop reads no pixel of
 * the image, its positions are out of the kernel's range (a degenerate transform) or `backend` (as
 * for the resizes) leaves it to JavaScript: the caller then uses the JavaScript warp, which handles
 * those as OpenCV does. The scratch the gate weighs is the region read, not the photo: a face crop
 * of a 100-megapixel photo still runs here.
 */
export function warpAffinePlanarWasm(
  backend: ResampleBackend | undefined,
  src: RgbImage,
  plan: WarpPlan,
  width: number,
  height: number,
  normalisation: ByteNormalisation,
  tensor: Float32Array,
  offset: number,
): boolean {
  const region = readRegion(plan, src);
  if (!region) return false;
  const regionWidth = region.right - region.left + 1;
  const regionHeight = region.bottom - region.top + 1;
  const stride = regionWidth * 3;
  const values = 3 * width * height;
  // The region, the plan's four position arrays, the planes.
  const blocks = [stride * regionHeight, width * 4, width * 4, height * 4, height * 4, values * 4];
  const wasm = wasmFor(
    "warpAffinePlanarWasm",
    blocks.reduce((sum, bytes) => sum + bytes),
    backend,
  );
  if (!wasm) return false;
  const [source, colX, colY, rowX, rowY, out] = wasm.scratch(...blocks) as [number, number, number, number, number, number];
  wasm.writeRegion(source, src, region.left, region.top, regionWidth, regionHeight);
  wasm.writeInt32(colX, plan.colX);
  wasm.writeInt32(colY, plan.colY);
  wasm.writeInt32(rowX, plan.rowX);
  wasm.writeInt32(rowY, plan.rowY);
  try {
    wasm.exports.warp_affine_planar(
      source,
      stride,
      region.left,
      region.top,
      src.width,
      src.height,
      colX,
      colY,
      rowX,
      rowY,
      width,
      height,
      normalisation.offset,
      normalisation.divisor,
      out,
    );
    tensor.set(new Float32Array(wasm.exports.memory.buffer, out, values), offset);
  } finally {
    wasm.finish();
  }
  return true;
}
