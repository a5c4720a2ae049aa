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
  const [source, tap0, tap1, xWeights, yIndex, yW0, yW1, rows, out] = wasm.scratch(
    srcBytes,
    width * 4,
    width * 4,
    width * 4,
    height * 4,
    height * 4,
    height * 4,
    2 * (rowLen + 16) * 4,
    height * rowLen,
  ) as [number, number, number, number, number, number, number, number, number];
  wasm.bytes(source, srcBytes).set(src.data.subarray(0, srcBytes));
  wasm.writeInt32(tap0, plan.tap0);
  wasm.writeInt32(tap1, plan.tap1);
  // Both weights are at most 2^11: one int32 holds the pair (w0, w1) of 16-bit dot-product lanes.
  wasm.writeInt32(
    xWeights,
    plan.xs.w0.map((w0, dx) => w0 | (plan.xs.w1[dx]! << 16)),
  );
  wasm.writeInt32(yIndex, plan.ys.index);
  wasm.writeInt32(yW0, plan.ys.w0);
  wasm.writeInt32(yW1, plan.ys.w1);
  wasm.exports.resize_cv_linear(source, src.width * 3, src.height, width, height, tap0, tap1, xWeights, yIndex, yW0, yW1, rows, out);
  try {
    deliverRows(wasm, out, width, height, output);
  } finally {
    // Also when a sink throws: a grown memory is not kept either way.
    wasm.finish();
  }
}
