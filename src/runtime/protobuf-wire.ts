/**
 * The few pieces of protobuf's wire format the hand-written ONNX code needs (tiny-onnx.ts writes a
 * model, mapped-weights.ts and sequence-length.ts rewrite one): varints, the key that starts every
 * field, a message's fields and a length-delimited field put back together.
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

/** One field of a message: its number, wire type and where its bytes lie. */
export interface WireField {
  readonly number: number;
  readonly wire: number;
  /** From the tag to the end of the value. */
  readonly start: number;
  readonly end: number;
  /** A length-delimited value's payload (its first byte); -1 for the others. */
  readonly payload: number;
}

/** Where the field starting at `at` ends, from its first bytes (`head`, read at `at`); and its payload. */
export function fieldAt(head: Uint8Array, at: number, end: number): WireField {
  const [tag, tagBytes] = readVarint(head, 0);
  const wire = tag % 8;
  const number = Math.floor(tag / 8);
  let payload = -1;
  let valueEnd: number;
  if (wire === WIRE_VARINT) valueEnd = at + readVarint(head, tagBytes)[1];
  else if (wire === WIRE_I64) valueEnd = at + tagBytes + 8;
  else if (wire === WIRE_I32) valueEnd = at + tagBytes + 4;
  else if (wire === WIRE_LEN) {
    const [length, lengthEnd] = readVarint(head, tagBytes);
    payload = at + lengthEnd;
    valueEnd = payload + length;
  } else throw new Error(`unsupported protobuf wire type ${wire} at byte ${at}`);
  if (valueEnd > end) throw new Error(`field ${number} at byte ${at} runs past its message`);
  return { number, wire, start: at, end: valueEnd, payload };
}

/** The fields of the message in `bytes` [start, end), in order. */
export function messageFields(bytes: Uint8Array, start = 0, end = bytes.length): WireField[] {
  const fields: WireField[] = [];
  for (let at = start; at < end; ) {
    const field = fieldAt(bytes.subarray(at, Math.min(at + 20, end)), at, end);
    fields.push(field);
    at = field.end;
  }
  return fields;
}

/** A length-delimited field of number `number` whose payload is `parts`, back to back. */
export function lengthDelimited(number: number, parts: readonly Uint8Array[]): Uint8Array[] {
  const length = parts.reduce((sum, part) => sum + part.length, 0);
  return [Uint8Array.from([...fieldKey(number, WIRE_LEN), ...varintBytes(length)]), ...parts];
}
