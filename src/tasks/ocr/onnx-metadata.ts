/**
 * Reads the `metadata_props` of an ONNX model file (ModelProto field 14: repeated
 * StringStringEntryProto {key = 1, value = 2}).
 *
 * onnxruntime-node exposes no custom metadata, and PP-OCR recognisers carry their character
 * dictionary there, so the few protobuf fields involved are decoded directly. Only the
 * top-level fields are walked; the graph (field 7, usually nearly the whole file) is skipped by
 * its length prefix without being read.
 */

const METADATA_PROPS = 14;
const ENTRY_KEY = 1;
const ENTRY_VALUE = 2;

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_BYTES = 2;
const WIRE_FIXED32 = 5;

/** Key → value of the model's metadata entries (a later duplicate key wins). */
export function readOnnxMetadata(model: Uint8Array): Map<string, string> {
  const entries = new Map<string, string>();
  const decoder = new TextDecoder("utf-8", { fatal: true });
  for (const field of fields(model, 0, model.length)) {
    if (field.number !== METADATA_PROPS || field.wire !== WIRE_BYTES) continue;
    let key = "";
    let value = "";
    for (const inner of fields(model, field.start, field.end)) {
      if (inner.wire !== WIRE_BYTES) continue;
      const text = decoder.decode(model.subarray(inner.start, inner.end));
      if (inner.number === ENTRY_KEY) key = text;
      else if (inner.number === ENTRY_VALUE) value = text;
    }
    entries.set(key, value);
  }
  return entries;
}

interface Field {
  readonly number: number;
  readonly wire: number;
  /** Byte range of a length-delimited payload (empty for other wire types). */
  readonly start: number;
  readonly end: number;
}

function* fields(bytes: Uint8Array, from: number, to: number): Generator<Field> {
  let pos = from;
  const varint = (): number => {
    let result = 0;
    let scale = 1;
    for (;;) {
      if (pos >= to) throw new Error("ONNX metadata: truncated varint");
      const byte = bytes[pos++]!;
      result += (byte & 0x7f) * scale;
      if (byte < 0x80) return result;
      scale *= 128;
      if (scale > 2 ** 63) throw new Error("ONNX metadata: varint too long");
    }
  };
  while (pos < to) {
    const tag = varint();
    const number = Math.floor(tag / 8);
    const wire = tag % 8;
    let start = pos;
    if (wire === WIRE_VARINT) varint();
    else if (wire === WIRE_FIXED64) pos += 8;
    else if (wire === WIRE_FIXED32) pos += 4;
    else if (wire === WIRE_BYTES) {
      const length = varint();
      start = pos;
      pos += length;
    } else throw new Error(`ONNX metadata: unsupported wire type ${wire}`);
    if (pos > to) throw new Error("ONNX metadata: field runs past the end of the file");
    yield { number, wire, start, end: wire === WIRE_BYTES ? pos : start };
  }
}
