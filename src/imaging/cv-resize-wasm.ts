/**
 * The general case of src/imaging/cv-resize.ts run by the WebAssembly SIMD kernel
 * (src/imaging/wasm/cv-resize.c), with that module's source indices and weights copied in.
 */
import type { AxisTaps } from "./cv-resize.ts";
import type { RowOutput } from "./planar-row.ts";
import type { RgbImage } from "./rgb-image.ts";
import type { ResampleModule } from "./wasm/resample-module.ts";
import { rowDelivery } from "./wasm-rows.ts";

/** What resizeCvLinearRows has worked out: each column's two tap offsets (bytes) and both axes' weights. */
export interface CvLinearPlan {
  readonly tap0: Int32Array;
  readonly tap1: Int32Array;
  readonly xs: AxisTaps;
  readonly ys: AxisTaps;
}

/**
 * Output rows made per call of the kernel. The source rows a band reads are copied in just before
 * (a 1440 px photo's 32 output rows of 640 read about 72 rows, 311 KB), so that the kernel reads
 * them from the core's cache rather than from a copy of the whole photo written out to memory
 * first, and each band goes on into the output while still cached; the module's memory holds a
 * band's rows, not the photo. The face letterbox of a 1440 px preview, its last call 20 ms
 * earlier (nothing of it cached): 2.51 ms copying the whole photo in first, 1.98 in bands; back to
 * back 1.39 and 1.15 ms.
 */
const BAND_ROWS = 32;

export function resizeCvLinearWasm(wasm: ResampleModule, src: RgbImage, width: number, height: number, plan: CvLinearPlan, output: RowOutput): void {
  const srcRowBytes = src.width * 3;
  const columns = (width + 3) & ~3;
  const bands = sourceBands(plan.ys.index, src.height);
  const offsets = wasm.scratch(...scratchBlocks(bands, src, width, height));
  const [source, tap, xWeights, yIndex, yW0, yW1, rows, cache, out] = offsets as [number, number, number, number, number, number, number, number, number];
  const taps = new Int32Array(columns);
  taps.set(plan.tap0);
  wasm.writeInt32(tap, taps);
  wasm.writeInt32(xWeights, laneWeights(plan, columns));
  wasm.writeInt32(yIndex, plan.ys.index);
  wasm.writeInt32(yW0, plan.ys.w0);
  wasm.writeInt32(yW1, plan.ys.w1);
  wasm.writeInt32(cache, Int32Array.of(-1, -1, 0));
  try {
    const deliver = rowDelivery(wasm, width, output);
    bands.forEach(([lo, hi], band) => {
      const first = band * BAND_ROWS;
      const count = Math.min(BAND_ROWS, height - first);
      wasm.bytes(source, (hi - lo + 1) * srcRowBytes).set(src.data.subarray(lo * srcRowBytes, (hi + 1) * srcRowBytes));
      const at = first * 4;
      wasm.exports.resize_cv_linear(source, srcRowBytes, lo, src.height, width, count, tap, xWeights, yIndex + at, yW0 + at, yW1 + at, rows, cache, out);
      deliver(out, first, count);
    });
  } finally {
    // Also when a sink throws: a grown memory is not kept either way.
    wasm.finish();
  }
}

/**
 * Bytes of wasm memory the resize of `src` into `width` columns takes, with `ys` its rows' taps
 * (the source rows of one band, not the whole image; before `rowDelivery`'s own).
 */
export function cvLinearScratchBytes(src: RgbImage, width: number, ys: AxisTaps): number {
  return scratchBlocks(sourceBands(ys.index, src.height), src, width, ys.index.length).reduce((sum, bytes) => sum + bytes);
}

/**
 * The call's scratch blocks: the source rows of the largest band, each column's first tap and its
 * weights by lane, each row's source row and two weights, two filtered rows (the vector loops run
 * up to 16 values past one), the filtered rows' cache, a band of output rows.
 */
function scratchBlocks(bands: [number, number][], src: RgbImage, width: number, height: number): number[] {
  const rowLen = width * 3;
  const columns = (width + 3) & ~3;
  return [blockRows(bands) * src.width * 3, columns * 4, columns * 3 * 4, height * 4, height * 4, height * 4, 2 * (rowLen + 16) * 4, 3 * 4, BAND_ROWS * rowLen];
}

/** The most source rows a band reads. */
function blockRows(bands: [number, number][]): number {
  return bands.reduce((most, [lo, hi]) => Math.max(most, hi - lo + 1), 0);
}

/**
 * The first and last source row each band of BAND_ROWS output rows reads (output row dy reads
 * rows index[dy] and index[dy] + 1, clamped into the image; index only grows).
 */
function sourceBands(index: Int32Array, srcHeight: number): [number, number][] {
  const clamp = (y: number) => Math.min(Math.max(y, 0), srcHeight - 1);
  const bands: [number, number][] = [];
  for (let first = 0; first < index.length; first += BAND_ROWS) {
    const last = Math.min(first + BAND_ROWS, index.length) - 1;
    bands.push([clamp(index[first]!), clamp(index[last]! + 1)]);
  }
  return bands;
}

/**
 * The horizontal weights as the kernel's dot products take them: each column's pair (w0, w1) as
 * one int32 of two 16-bit lanes (both are at most 2^11), once per channel: the lane order of
 * cv-resize.c's `tap_pairs`. Columns past the image's (up to `columns`, a multiple of four) weigh
 * 0. The kernel reads each column's second tap 3 bytes after its first: checked here, as a wrong
 * read would only show as wrong pixels.
 */
function laneWeights(plan: CvLinearPlan, columns: number): Int32Array {
  const { tap0, tap1, xs } = plan;
  const lanes = new Int32Array(columns * 3);
  for (let dx = 0; dx < tap0.length; dx++) {
    if (tap1[dx] !== tap0[dx]! + 3 && xs.w1[dx] !== 0) throw new Error(`resizeCvLinearWasm: column ${dx}'s taps are not adjacent pixels`);
    lanes.fill(xs.w0[dx]! | (xs.w1[dx]! << 16), dx * 3, dx * 3 + 3);
  }
  return lanes;
}
