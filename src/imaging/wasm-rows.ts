/**
 * Rows a WebAssembly kernel left in its module's memory, handed to their output. A sink gets
 * them one by one; a tensor's planes get them converted inside the module a band of rows at a
 * time (src/imaging/wasm/planar-floats.c), each band's planes then copied into the tensor. The
 * conversion is `planar_floats`, the same table lookup as `writePlanarRow`, or where the layout
 * gives its tables' formula `planar_affine`, which computes it four pixels at a time. The face
 * letterbox's 640x400 pixels: 903 µs in JavaScript, 357 µs by table in the module; the whole
 * letterbox 1.50 ms by table, 1.31 computed; the OCR detector's input 9.0 and 8.2 ms.
 */
import type { RowOutput } from "./planar-row.ts";
import type { ResampleModule } from "./wasm/resample-module.ts";

/**
 * Pixels converted per band: 3 × 2^16 × 4 bytes = 768 KiB of scratch, so that the 992x736 OCR
 * detector input (8.8 MB of floats) does not hold its module's memory past RETAINED_LIMIT. Bands
 * of 2^13 to 2^18 pixels measured alike.
 */
const BAND_PIXELS = 1 << 16;

/** Scratch bytes a `rowDelivery` reserves beyond the caller's own, for sizing a call's wasm memory. */
export const DELIVERY_SCRATCH_BYTES = 3 * 256 * 4 + 3 * BAND_PIXELS * 4 + 64;

/**
 * Hands rows of `width` RGB pixels that a kernel left in `wasm`'s memory to `output`:
 * `deliver(rowsAt, firstRow, count)` takes `count` rows, back to back at `rowsAt`, as output rows
 * `firstRow` on. A kernel that works in bands of rows delivers each band as it is made. Reserves
 * its scratch when made: make it after the call's `scratch`, and call `deliver` before
 * `wasm.finish()`.
 */
export function rowDelivery(wasm: ResampleModule, width: number, output: RowOutput): (rowsAt: number, firstRow: number, count: number) => void {
  const rowBytes = width * 3;
  if (typeof output === "function") {
    return (rowsAt, firstRow, count) => {
      const bytes = wasm.bytes(rowsAt, count * rowBytes);
      for (let y = 0; y < count; y++) output(firstRow + y, bytes.subarray(y * rowBytes, (y + 1) * rowBytes));
    };
  }
  const { tensor, plane, start, stride, layout } = output;
  const bandRows = Math.max(1, Math.floor(BAND_PIXELS / width));
  const bandValues = bandRows * width;
  const [tables, band] = wasm.reserve(3 * 256 * 4, 3 * bandValues * 4) as [number, number];
  const { affine } = layout;
  if (!affine) layout.tables.forEach((table, k) => new Float32Array(wasm.exports.memory.buffer, tables + k * 256 * 4, 256).set(table));
  const [c0, c1, c2] = layout.channels;
  return (rowsAt, firstRow, count) => {
    const memory = wasm.exports.memory;
    for (let first = 0; first < count; first += bandRows) {
      const rows = Math.min(bandRows, count - first);
      const from = rowsAt + first * rowBytes;
      if (affine) wasm.exports.planar_affine(from, rows * width, c0, c1, c2, affine.offset, affine.scale, band, bandValues);
      else wasm.exports.planar_floats(from, rows * width, c0, c1, c2, tables, band, bandValues);
      for (let k = 0; k < 3; k++) {
        const planeAt = band + k * bandValues * 4;
        const to = k * plane + start + (firstRow + first) * stride;
        if (stride === width) {
          tensor.set(new Float32Array(memory.buffer, planeAt, rows * width), to);
        } else {
          for (let y = 0; y < rows; y++) tensor.set(new Float32Array(memory.buffer, planeAt + y * width * 4, width), to + y * stride);
        }
      }
    }
  };
}
