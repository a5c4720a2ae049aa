/**
 * The last step of every pre-processing kernel: interleaved 8-bit RGB rows → a float32 NCHW tensor
 * of three planes, each value looked up in a 256-entry table (the model's normalisation computed
 * once per byte, in the float arithmetic upstream uses) instead of recomputed per pixel.
 */

/** Receives output rows (interleaved RGB) as a resizer makes them; `row` is valid during the call only. */
export type RowSink = (y: number, row: Uint8Array) => void;

/**
 * A tensor's three planes as the destination of an image's rows: pixel x of row y goes to offset
 * `start + y * stride + x` of each plane (`plane` values apart), through `layout`.
 */
export interface PlanarTarget {
  readonly tensor: Float32Array;
  readonly plane: number;
  readonly start: number;
  readonly stride: number;
  readonly layout: PlaneLayout;
}

/**
 * Where a resizer's rows go: a sink, or straight into a tensor's planes, which the WebAssembly
 * kernels convert inside their module (src/imaging/wasm-rows.ts) instead of row by row here.
 */
export type RowOutput = RowSink | PlanarTarget;

/** `output` as a sink of rows `width` pixels wide (the JavaScript resizers' way of writing). */
export function rowSink(output: RowOutput, width: number): RowSink {
  if (typeof output === "function") return output;
  const { tensor, plane, start, stride, layout } = output;
  return (y, row) => writePlanarRow(tensor, plane, start + y * stride, row, width, layout);
}

export interface PlaneLayout {
  /** Source channel (0 R, 1 G, 2 B) of tensor planes 0, 1, 2: `[2, 1, 0]` for BGR models. */
  readonly channels: readonly [number, number, number];
  /** Value of each byte, per tensor plane. */
  readonly tables: readonly [Float32Array, Float32Array, Float32Array];
  /** The tables' formula, where it is one the WebAssembly kernels compute (see `affineLayout`). */
  readonly affine?: AffineNormalisation;
}

const BYTES = Array.from({ length: 256 }, (_, byte) => byte);

/** Each byte as float32((byte - offset) * scale), the same for every plane. */
export interface AffineNormalisation {
  readonly offset: number;
  readonly scale: number;
}

/** A layout with the same table for all three planes. */
export function uniformLayout(table: Float32Array, channels: readonly [number, number, number]): PlaneLayout {
  return { channels, tables: [table, table, table] };
}

/**
 * A layout whose tables are `normalisation` for every byte, and which says so: the WebAssembly
 * kernels then compute the values four at a time (src/imaging/wasm/planar-floats.c) instead of
 * looking each up. Equal to the tables for float32 `offset` and `scale` where `byte - offset` is
 * exact in float32: the table's product of two float32 values is exact in double before its
 * rounding to float32, so both are the correctly rounded float32 product. Checked here.
 */
export function affineLayout(normalisation: AffineNormalisation, channels: readonly [number, number, number]): PlaneLayout {
  const { offset, scale } = normalisation;
  const exact = Math.fround(offset) === offset && Math.fround(scale) === scale && BYTES.every((byte) => Math.fround(byte - offset) === byte - offset);
  if (!exact) throw new Error(`affineLayout: offset ${offset} and scale ${scale} are not exact in float32`);
  return {
    ...uniformLayout(
      byteTable((byte) => (byte - offset) * scale),
      channels,
    ),
    affine: normalisation,
  };
}

/** Byte → value table of a normalisation, evaluated for each of the 256 bytes. */
export function byteTable(normalise: (byte: number) => number): Float32Array {
  return Float32Array.from({ length: 256 }, (_, byte) => normalise(byte));
}

/**
 * Writes the first `count` pixels of `row` to tensor offsets `start…start + count` of each plane
 * (`plane` values apart).
 */
export function writePlanarRow(tensor: Float32Array, plane: number, start: number, row: Uint8Array, count: number, layout: PlaneLayout): void {
  // Indexed rather than destructured: array destructuring goes through the iterator protocol.
  const c0 = layout.channels[0];
  const c1 = layout.channels[1];
  const c2 = layout.channels[2];
  const t0 = layout.tables[0];
  const t1 = layout.tables[1];
  const t2 = layout.tables[2];
  const end = start + count;
  for (let d = start, p = 0; d < end; d++, p += 3) {
    tensor[d] = t0[row[p + c0]!]!;
    tensor[d + plane] = t1[row[p + c1]!]!;
    tensor[d + 2 * plane] = t2[row[p + c2]!]!;
  }
}
