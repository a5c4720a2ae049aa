/**
 * `warpAffineCv` (cv-warp-affine.ts) run by the WebAssembly SIMD kernel
 * (src/imaging/wasm/cv-warp-affine.c), each value written straight into a float32 tensor of three
 * RGB planes through a byte → value table. Only the part of the source the crop reads is copied in:
 * a face's 112x112 crop reads a few hundred pixels square of a 1440 px photo.
 */
import type { WarpPlan } from "./cv-warp-affine.ts";
import type { RgbImage } from "./rgb-image.ts";
import { type ResampleBackend, wasmFor } from "./wasm/resample-module.ts";

/** Positions are in 1/1024 pixel, taps in whole pixels: 10 bits apart. */
const POSITION_TO_PIXEL = 10;
/** Beyond this, a position sum could wrap around int32 and the reads could not be bounded: JavaScript's turn. */
const SAFE_POSITION = 2 ** 29;

/** The source rectangle (whole pixels, inclusive) every tap of the crop inside the image falls in, or null. */
function readRegion(plan: WarpPlan, image: RgbImage): { left: number; top: number; right: number; bottom: number } | null {
  const range = (values: Int32Array): [number, number] => {
    let low = values[0]!;
    let high = low;
    for (let i = 1; i < values.length; i++) {
      const value = values[i]!;
      if (value < low) low = value;
      else if (value > high) high = value;
    }
    return [low, high];
  };
  const [colX0, colX1] = range(plan.colX);
  const [colY0, colY1] = range(plan.colY);
  const [rowX0, rowX1] = range(plan.rowX);
  const [rowY0, rowY1] = range(plan.rowY);
  // Each axis' position is a column term plus a row term, each monotonic: its extremes are the sums of theirs.
  const extremes = [colX0 + rowX0, colX1 + rowX1, colY0 + rowY0, colY1 + rowY1];
  if (extremes.some((value) => Math.abs(value) > SAFE_POSITION)) return null;
  const left = Math.max(0, extremes[0]! >> POSITION_TO_PIXEL);
  const right = Math.min(image.width - 1, (extremes[1]! >> POSITION_TO_PIXEL) + 1);
  const top = Math.max(0, extremes[2]! >> POSITION_TO_PIXEL);
  const bottom = Math.min(image.height - 1, (extremes[3]! >> POSITION_TO_PIXEL) + 1);
  return left <= right && top <= bottom ? { left, top, right, bottom } : null;
}

/**
 * Writes the warped crop (`width` x `height`) into `tensor` from `offset`, plane after plane, each
 * byte as `table` maps it. False (nothing written) when the crop reads no pixel of the image, its
 * positions are out of the kernel's range (a degenerate transform) or `backend` (as for the
 * resizes) leaves it to JavaScript: the caller then uses the JavaScript warp, which handles those
 * as OpenCV does. The scratch the gate weighs is the region read, not the photo: a face crop of a
 * 100-megapixel photo still runs here.
 */
export function warpAffinePlanarWasm(
  backend: ResampleBackend | undefined,
  src: RgbImage,
  plan: WarpPlan,
  width: number,
  height: number,
  table: Float32Array,
  tensor: Float32Array,
  offset: number,
): boolean {
  const region = readRegion(plan, src);
  if (!region) return false;
  const regionWidth = region.right - region.left + 1;
  const regionHeight = region.bottom - region.top + 1;
  const stride = regionWidth * 3;
  const values = 3 * width * height;
  // The region, the plan's four position arrays, the byte table, the planes.
  const blocks = [stride * regionHeight, width * 4, width * 4, height * 4, height * 4, 256 * 4, values * 4];
  const wasm = wasmFor(
    "warpAffinePlanarWasm",
    blocks.reduce((sum, bytes) => sum + bytes),
    backend,
  );
  if (!wasm) return false;
  const [source, colX, colY, rowX, rowY, tableAt, out] = wasm.scratch(...blocks) as [number, number, number, number, number, number, number];
  wasm.writeRegion(source, src, region.left, region.top, regionWidth, regionHeight);
  wasm.writeInt32(colX, plan.colX);
  wasm.writeInt32(colY, plan.colY);
  wasm.writeInt32(rowX, plan.rowX);
  wasm.writeInt32(rowY, plan.rowY);
  new Float32Array(wasm.exports.memory.buffer, tableAt, 256).set(table);
  try {
    wasm.exports.warp_affine_planar(source, stride, region.left, region.top, src.width, src.height, colX, colY, rowX, rowY, width, height, tableAt, out);
    tensor.set(new Float32Array(wasm.exports.memory.buffer, out, values), offset);
  } finally {
    wasm.finish();
  }
  return true;
}
