/**
 * The general case of src/imaging/cv-resize.ts run by the WebAssembly SIMD kernel
 * (src/imaging/wasm/cv-resize.c), with that module's source indices and weights copied in.
 */
import type { AxisTaps } from "./cv-resize.ts";
import type { RowOutput } from "./planar-row.ts";
import type { RgbImage } from "./rgb-image.ts";
import type { ResampleModule } from "./wasm/resample-module.ts";
import { deliverRows } from "./wasm-rows.ts";

/** What resizeCvLinearRows has worked out: each column's two tap offsets (bytes) and both axes' weights. */
export interface CvLinearPlan {
  readonly tap0: Int32Array;
  readonly tap1: Int32Array;
  readonly xs: AxisTaps;
  readonly ys: AxisTaps;
}

export function resizeCvLinearWasm(wasm: ResampleModule, src: RgbImage, width: number, height: number, plan: CvLinearPlan, output: RowOutput): void {
  const rowLen = width * 3;
  const srcBytes = src.width * src.height * 3;
  const columns = (width + 3) & ~3;
  const [source, tap, xWeights, yIndex, yW0, yW1, rows, out] = wasm.scratch(
    srcBytes,
    columns * 4,
    columns * 3 * 4,
    height * 4,
    height * 4,
    height * 4,
    2 * (rowLen + 16) * 4,
    height * rowLen,
  ) as [number, number, number, number, number, number, number, number];
  wasm.bytes(source, srcBytes).set(src.data.subarray(0, srcBytes));
  const taps = new Int32Array(columns);
  taps.set(plan.tap0);
  wasm.writeInt32(tap, taps);
  wasm.writeInt32(xWeights, laneWeights(plan, columns));
  wasm.writeInt32(yIndex, plan.ys.index);
  wasm.writeInt32(yW0, plan.ys.w0);
  wasm.writeInt32(yW1, plan.ys.w1);
  wasm.exports.resize_cv_linear(source, src.width * 3, src.height, width, height, tap, xWeights, yIndex, yW0, yW1, rows, out);
  try {
    deliverRows(wasm, out, width, height, output);
  } finally {
    // Also when a sink throws: a grown memory is not kept either way.
    wasm.finish();
  }
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
