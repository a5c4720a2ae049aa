/**
 * `perspectiveCropPil` (pil-perspective.ts) run by the WebAssembly SIMD kernel
 * (src/imaging/wasm/pil-perspective.c), which does the same double arithmetic per pixel. Only the
 * part of the photo around the quadrilateral is copied in: a text line is a sliver of a photo.
 */
import type { Homography } from "./pil-perspective.ts";
import type { RgbImage } from "./rgb-image.ts";
import { type ResampleBackend, wasmFor } from "./wasm/resample-module.ts";

/** A sample inside the quadrilateral reads taps up to 2.5 pixels away from it. */
const TAP_MARGIN = 3;

/**
 * The crop, or null when the kernel cannot make it from the part copied in (a degenerate
 * quadrilateral whose samples leave its bounding box, or one outside the image) or `backend` (as
 * for the resizes) leaves it to JavaScript: the caller then crops in JavaScript. The scratch the
 * gate weighs is the region read, not the photo: a text line of a 100-megapixel scan still runs here.
 */
export function perspectiveCropWasm(
  backend: ResampleBackend | undefined,
  src: RgbImage,
  corners: ArrayLike<number>,
  coefficients: Homography,
  width: number,
  height: number,
): RgbImage | null {
  const xs = [corners[0]!, corners[2]!, corners[4]!, corners[6]!];
  const ys = [corners[1]!, corners[3]!, corners[5]!, corners[7]!];
  const left = Math.max(0, Math.floor(Math.min(...xs)) - TAP_MARGIN);
  const top = Math.max(0, Math.floor(Math.min(...ys)) - TAP_MARGIN);
  const right = Math.min(src.width - 1, Math.ceil(Math.max(...xs)) + TAP_MARGIN);
  const bottom = Math.min(src.height - 1, Math.ceil(Math.max(...ys)) + TAP_MARGIN);
  // NaN corners fail these comparisons too.
  if (!(left <= right && top <= bottom)) return null;
  const columns = right - left + 1;
  const rows = bottom - top + 1;
  const stride = columns * 3;
  const outBytes = width * height * 3;
  // The region, the eight coefficients, the crop.
  const blocks = [stride * rows, 8 * 8, outBytes];
  const wasm = wasmFor(
    "perspectiveCropPil",
    blocks.reduce((sum, bytes) => sum + bytes),
    backend,
  );
  if (!wasm) return null;
  const [source, coefficientsAt, out] = wasm.scratch(...blocks) as [number, number, number];
  wasm.writeRegion(source, src, left, top, columns, rows);
  new Float64Array(wasm.exports.memory.buffer, coefficientsAt, 8).set(coefficients);
  try {
    const done = wasm.exports.perspective_bicubic(source, stride, left, top, columns, rows, src.width, src.height, coefficientsAt, width, height, out);
    return done ? { width, height, data: wasm.bytes(out, outBytes).slice() } : null;
  } finally {
    wasm.finish();
  }
}
