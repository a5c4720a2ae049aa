/**
 * Field numbers of onnx.proto and readers of the values the hand-written model rewrites need
 * (mapped-weights.ts, sequence-length.ts, shared-weights.ts), over protobuf-wire.ts.
 */
import { readVarint, WIRE_LEN, WIRE_VARINT, type WireField } from "./protobuf-wire.ts";

export const MODEL_GRAPH = 7;
export const GRAPH_NODE = 1;
export const GRAPH_INITIALIZER = 5;
export const GRAPH_INPUT = 11;
export const GRAPH_VALUE_INFO = 13;
export const NODE_ATTRIBUTE = 5;
export const ATTRIBUTE_TENSOR = 5;
export const ATTRIBUTE_GRAPH = 6;
export const ATTRIBUTE_TENSORS = 10;
export const ATTRIBUTE_GRAPHS = 11;
export const TENSOR_DIMS = 1;
export const TENSOR_DATA_TYPE = 2;
export const TENSOR_NAME = 8;
export const TENSOR_RAW_DATA = 9;
export const TENSOR_EXTERNAL_DATA = 13;
export const TENSOR_DATA_LOCATION = 14;
export const ENTRY_KEY = 1;
export const ENTRY_VALUE = 2;
export const VALUE_INFO_TYPE = 2;
export const TYPE_TENSOR = 1;
export const TENSOR_TYPE_SHAPE = 2;
export const SHAPE_DIM = 1;
export const DIM_VALUE = 1;

/** TensorProto.DataLocation EXTERNAL. */
export const DATA_LOCATION_EXTERNAL = 1;
/** TensorProto.DataType INT64. */
export const INT64 = 7;
/** Bytes per element of TensorProto.DataType, for the fixed-size types. */
export const ELEMENT_BYTES: ReadonlyMap<number, number> = new Map([
  [1, 4],
  [2, 1],
  [3, 1],
  [4, 2],
  [5, 2],
  [6, 4],
  [7, 8],
  [9, 1],
  [10, 2],
  [11, 8],
  [12, 4],
  [13, 8],
  [16, 2],
]);

/** Whether `field` is an embedded message (or bytes) of field number `number`. */
export function isMessage(field: WireField, number: number): boolean {
  return field.number === number && field.wire === WIRE_LEN;
}

/** A varint field's value, after its key. */
export function varintValue(bytes: Uint8Array, field: WireField): number {
  return readVarint(bytes, readVarint(bytes, field.start)[1])[0];
}

/** The values of repeated varint field `number` among `fields`, packed or not (a tensor's dims). */
export function repeatedVarints(bytes: Uint8Array, fields: readonly WireField[], number: number): number[] {
  const values: number[] = [];
  for (const field of fields) {
    if (field.number !== number) continue;
    if (field.wire === WIRE_VARINT) values.push(varintValue(bytes, field));
    else if (field.wire === WIRE_LEN)
      for (let at = field.payload; at < field.end; ) {
        const [value, next] = readVarint(bytes, at);
        values.push(value);
        at = next;
      }
  }
  return values;
}
