/**
 * The two passes of src/imaging/pil-resample.ts run by the WebAssembly SIMD kernels
 * (src/imaging/wasm/pil-resample.c). The coefficient tables are the JavaScript ones, copied in, so
 * that only the multiply-adds move and the bytes stay Pillow's.
 */
import type { AxisCoefficients } from "./pil-resample.ts";
import type { RowOutput } from "./planar-row.ts";
import type { RgbImage } from "./rgb-image.ts";
import type { ResampleModule } from "./wasm/resample-module.ts";
import { rowDelivery } from "./wasm-rows.ts";

/** What resizePilRows has worked out: the window, the source rows it needs, each axis' weights. */
export interface ResamplePlan {
  readonly left: number;
  readonly outWidth: number;
  readonly outHeight: number;
  /** Source rows [rowStart, rowEnd) feed the vertical pass (or are the output, without one). */
  readonly rowStart: number;
  readonly rowEnd: number;
  /** Absent where the axis keeps its size and Pillow skips the pass. */
  readonly horizontal: AxisCoefficients | undefined;
  readonly vertical: AxisCoefficients | undefined;
}

export function resampleWasm(wasm: ResampleModule, src: RgbImage, plan: ResamplePlan, output: RowOutput): void {
  const { left, outWidth, outHeight, rowStart, rowEnd, horizontal: h, vertical: v } = plan;
  const rows = rowEnd - rowStart;
  const srcRowBytes = src.width * 3;
  const outRow = outWidth * 3;
  const [hFirst, hCount, hWeights, hPairs, vFirst, vCount, vWeights, vPairs, source, between, out] = wasm.scratch(
    h ? h.first.length * 4 : 0,
    h ? h.count.length * 4 : 0,
    h ? h.weights.length * 4 : 0,
    // Each kernel's packed weight pairs: hi and lo int32 per pair of taps.
    h ? outWidth * Math.ceil(h.taps / 2) * 8 : 0,
    v ? v.first.length * 4 : 0,
    v ? v.count.length * 4 : 0,
    v ? v.weights.length * 4 : 0,
    v ? outHeight * Math.ceil(v.taps / 2) * 8 : 0,
    h ? rows * srcRowBytes : 0,
    rows * outRow,
    v ? outHeight * outRow : 0,
  ) as [number, number, number, number, number, number, number, number, number, number, number];

  if (h) {
    wasm.bytes(source, rows * srcRowBytes).set(src.data.subarray(rowStart * srcRowBytes, rowEnd * srcRowBytes));
    wasm.writeInt32(
      hFirst,
      h.first.map((x) => x * 3),
    );
    wasm.writeInt32(hCount, h.count);
    wasm.writeInt32(hWeights, h.weights);
    wasm.exports.resample_rows(source, srcRowBytes, rows, outWidth, hFirst, hCount, hWeights, h.taps, hPairs, between);
  } else {
    const block = wasm.bytes(between, rows * outRow);
    for (let y = 0; y < rows; y++) {
      const start = (rowStart + y) * srcRowBytes + left * 3;
      block.set(src.data.subarray(start, start + outRow), y * outRow);
    }
  }

  const [result, count] = v ? [out, outHeight] : [between, rows];
  if (v) {
    wasm.writeInt32(
      vFirst,
      v.first.map((y) => y - rowStart),
    );
    wasm.writeInt32(vCount, v.count);
    wasm.writeInt32(vWeights, v.weights);
    wasm.exports.resample_columns(between, outRow, outHeight, vFirst, vCount, vWeights, v.taps, vPairs, out);
  }
  try {
    rowDelivery(wasm, outWidth, output)(result, 0, count);
  } finally {
    // Also when a sink throws: a grown memory is not kept either way.
    wasm.finish();
  }
}
