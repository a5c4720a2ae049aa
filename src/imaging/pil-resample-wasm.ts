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

/**
 * Rows per call of each pass: the horizontal pass's source rows are copied in a band at a time
 * just before it reads them, and the vertical pass's output rows go on into the output a band at
 * a time, so that both are read from the core's cache rather than from a whole image written out
 * to memory first (a multiple of the horizontal pass's four rows a sweep).
 */
const BAND_ROWS = 32;

/** Bytes of wasm memory `resampleWasm` takes for `plan` on `src` (before `rowDelivery`'s own). */
export function resampleScratchBytes(src: RgbImage, plan: ResamplePlan): number {
  return scratchBlocks(src, plan).reduce((sum, bytes) => sum + bytes);
}

/** Where `scratch` put each of `scratchBlocks`' blocks. */
type ScratchOffsets = [number, number, number, number, number, number, number, number, number, number, number];

/**
 * The call's scratch blocks: each pass's coefficient tables (first tap, tap count, weights) and
 * packed weight pairs (hi and lo int32 per pair of taps), a band of source rows, the horizontal
 * pass's output, a band of the vertical pass's.
 */
function scratchBlocks(src: RgbImage, plan: ResamplePlan): number[] {
  const { outWidth, outHeight, rowStart, rowEnd, horizontal: h, vertical: v } = plan;
  const outRow = outWidth * 3;
  return [
    h ? h.first.length * 4 : 0,
    h ? h.count.length * 4 : 0,
    h ? h.weights.length * 4 : 0,
    h ? outWidth * Math.ceil(h.taps / 2) * 8 : 0,
    v ? v.first.length * 4 : 0,
    v ? v.count.length * 4 : 0,
    v ? v.weights.length * 4 : 0,
    v ? outHeight * Math.ceil(v.taps / 2) * 8 : 0,
    h ? BAND_ROWS * src.width * 3 : 0,
    (rowEnd - rowStart) * outRow,
    v ? BAND_ROWS * outRow : 0,
  ];
}

export function resampleWasm(wasm: ResampleModule, src: RgbImage, plan: ResamplePlan, output: RowOutput): void {
  const { left, outWidth, outHeight, rowStart, rowEnd, horizontal: h, vertical: v } = plan;
  const rows = rowEnd - rowStart;
  const srcRowBytes = src.width * 3;
  const outRow = outWidth * 3;
  const offsets = wasm.scratch(...scratchBlocks(src, plan));
  const [hFirst, hCount, hWeights, hPairs, vFirst, vCount, vWeights, vPairs, source, between, out] = offsets as ScratchOffsets;
  const { exports } = wasm;

  if (h) {
    wasm.writeInt32(
      hFirst,
      h.first.map((x) => x * 3),
    );
    wasm.writeInt32(hCount, h.count);
    wasm.writeInt32(hWeights, h.weights);
    const slots = exports.pack_pairs(outWidth, hCount, hWeights, h.taps, hPairs);
    for (let y = 0; y < rows; y += BAND_ROWS) {
      const count = Math.min(BAND_ROWS, rows - y);
      const from = (rowStart + y) * srcRowBytes;
      wasm.bytes(source, count * srcRowBytes).set(src.data.subarray(from, from + count * srcRowBytes));
      exports.resample_rows(source, srcRowBytes, count, outWidth, hFirst, hCount, hPairs, slots, between + y * outRow);
    }
  } else {
    const block = wasm.bytes(between, rows * outRow);
    for (let y = 0; y < rows; y++) {
      const start = (rowStart + y) * srcRowBytes + left * 3;
      block.set(src.data.subarray(start, start + outRow), y * outRow);
    }
  }

  try {
    const deliver = rowDelivery(wasm, outWidth, output);
    if (!v) {
      deliver(between, 0, rows);
      return;
    }
    wasm.writeInt32(
      vFirst,
      v.first.map((y) => y - rowStart),
    );
    wasm.writeInt32(vCount, v.count);
    wasm.writeInt32(vWeights, v.weights);
    const slots = exports.pack_pairs(outHeight, vCount, vWeights, v.taps, vPairs);
    for (let y = 0; y < outHeight; y += BAND_ROWS) {
      const count = Math.min(BAND_ROWS, outHeight - y);
      exports.resample_columns(between, outRow, count, vFirst + y * 4, vCount + y * 4, vPairs + y * slots * 4, slots, out);
      deliver(out, y, count);
    }
  } finally {
    // Also when a sink throws: a grown memory is not kept either way.
    wasm.finish();
  }
}
