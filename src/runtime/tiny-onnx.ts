/**
 * The smallest useful ONNX model, written as protobuf bytes by hand so that `selftest` and the
 * shared arena's trim (ort-capi.ts, which needs a run to do it) need no model file and no protobuf
 * library: `sum = a + b` over float32[3].
 * Field numbers are those of onnx.proto (ModelProto, GraphProto, NodeProto, ValueInfoProto, TypeProto).
 */
import { fieldKey, varintBytes, WIRE_LEN, WIRE_VARINT } from "./protobuf-wire.ts";

type Bytes = number[];

const integer = (field: number, value: number): Bytes => [...fieldKey(field, WIRE_VARINT), ...varintBytes(value)];
const message = (field: number, body: Bytes): Bytes => [...fieldKey(field, WIRE_LEN), ...varintBytes(body.length), ...body];
const text = (field: number, value: string): Bytes => message(field, [...new TextEncoder().encode(value)]);

const FLOAT = 1;

/** ValueInfoProto { name, type: TypeProto { tensor_type { elem_type, shape { dim { dim_value } } } } } */
function float32Vector(name: string, length: number): Bytes {
  const shape = message(2, message(1, integer(1, length)));
  return [...text(1, name), ...message(2, message(1, [...integer(1, FLOAT), ...shape]))];
}

export function addModel(): Uint8Array {
  const node = [...text(1, "a"), ...text(1, "b"), ...text(2, "sum"), ...text(3, "add"), ...text(4, "Add")];
  const graph = [
    ...message(1, node),
    ...text(2, "selftest"),
    ...message(11, float32Vector("a", 3)),
    ...message(11, float32Vector("b", 3)),
    ...message(12, float32Vector("sum", 3)),
  ];
  const opset = integer(2, 13);
  return new Uint8Array([...integer(1, 8), ...text(2, "immich-ml selftest"), ...message(7, graph), ...message(8, opset)]);
}
