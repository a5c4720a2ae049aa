/**
 * The few pieces of protobuf's wire format the hand-written ONNX code needs (tiny-onnx.ts writes a
 * model, mapped-weights.ts rewrites one): varints, and the key that starts every field.
 */

export const WIRE_VARINT = 0;
export const WIRE_I64 = 1;
export const WIRE_LEN = 2;
export const WIRE_I32 = 5;

/** A non-negative integer as a varint (doubles: exact below 2^53, as a model's offsets are). */
export function varintBytes(value: number): number[] {
  const out: number[] = [];
  while (value >= 0x80) {
    out.push((value % 128) | 0x80);
    value = Math.floor(value / 128);
  }
  out.push(value);
  return out;
}

/** The key of field `number` with wire type `wire`. */
export function fieldKey(number: number, wire: number): number[] {
  return varintBytes(number * 8 + wire);
}

/** The varint at `at` of `bytes` and the index after it. */
export function readVarint(bytes: Uint8Array, at: number): [number, number] {
  let value = 0;
  let scale = 1;
  for (let i = at; i < bytes.length && i < at + 10; i++) {
    const byte = bytes[i]!;
    value += (byte & 0x7f) * scale;
    scale *= 128;
    if (byte < 0x80) return [value, i + 1];
  }
  throw new Error("malformed protobuf varint");
}
