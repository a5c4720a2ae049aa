/**
 * A text tower's graph rewritten for a shorter token sequence than its context length.
 *
 * Immich's text towers are exported with a fixed sequence axis (OpenAI CLIP's 77 tokens), and a
 * search query fills a handful of them: the rest is padding, which the tower computes all the same.
 * Where the tower's output does not depend on the positions after the text (a causal mask and
 * pooling at the end-of-text token, as CLIP's; or masked pooling over the real tokens, as
 * M-CLIP's), running it on the first L positions gives the same embedding for a fraction of the
 * work. Whether that holds is not decided here: sequence-variants.ts compares each rewritten
 * graph's outputs with the original's before using it.
 *
 * The rewrite specialises the exported graph's constants to the shorter length: the inputs' axes
 * of the context length, every tensor stored in the graph with such an axis cut to its first L
 * entries along it (the positional embedding, the attention mask, position ids), and every short
 * int64 vector naming the context length (the shapes of the attention's reshapes, slice ends) given
 * L instead. Shapes the export recorded for intermediate values are dropped; onnxruntime infers
 * them again. Weights kept outside the graph (mapped-weights.ts) are referenced as they are, so a
 * rewritten graph is a few hundred kilobytes whatever the model's size. Protobuf by hand, as
 * mapped-weights.ts: every field not named here is copied byte for byte.
 */
import {
  ATTRIBUTE_GRAPH,
  ATTRIBUTE_GRAPHS,
  ATTRIBUTE_TENSOR,
  ATTRIBUTE_TENSORS,
  DIM_VALUE,
  ELEMENT_BYTES,
  GRAPH_INITIALIZER,
  GRAPH_INPUT,
  GRAPH_NODE,
  GRAPH_VALUE_INFO,
  INT64,
  isMessage,
  MODEL_GRAPH,
  NODE_ATTRIBUTE,
  repeatedVarints,
  SHAPE_DIM,
  TENSOR_DATA_TYPE,
  TENSOR_DIMS,
  TENSOR_RAW_DATA,
  TENSOR_TYPE_SHAPE,
  TYPE_TENSOR,
  VALUE_INFO_TYPE,
  varintValue,
} from "./onnx-proto.ts";
import { fieldKey, lengthDelimited, messageFields, varintBytes, WIRE_LEN, WIRE_VARINT, type WireField } from "./protobuf-wire.ts";

/** Shape vectors are short; a longer int64 tensor holding the context length is data, left alone. */
const MAX_SHAPE_VECTOR = 8;

/** `model` (an ONNX ModelProto) with its sequence axes of `context` tokens cut to `length`. */
export function shortenSequence(model: Uint8Array, context: number, length: number): Uint8Array {
  if (!(Number.isInteger(length) && length > 0 && length < context)) throw new Error(`cannot shorten a ${context}-token sequence to ${length}`);
  // A plain view, also of a Buffer (whose slice() shares its memory instead of copying).
  const rewrite: Rewrite = { bytes: new Uint8Array(model.buffer, model.byteOffset, model.byteLength), context, length };
  const parts = rewriteMessage(rewrite, messageFields(rewrite.bytes), (field) => (isMessage(field, MODEL_GRAPH) ? rewriteGraph(rewrite, field) : undefined));
  return Buffer.concat(parts);
}

interface Rewrite {
  readonly bytes: Uint8Array;
  readonly context: number;
  readonly length: number;
}

/** What to put in a field's place: new bytes, `null` to drop it, `undefined` to copy it as it is. */
type FieldEdit = (field: WireField) => Uint8Array[] | null | undefined;

function rewriteMessage(rewrite: Rewrite, fields: readonly WireField[], edit: FieldEdit): Uint8Array[] {
  const parts: Uint8Array[] = [];
  for (const field of fields) {
    const replaced = edit(field);
    if (replaced === undefined) parts.push(rewrite.bytes.subarray(field.start, field.end));
    else if (replaced !== null) parts.push(...replaced);
  }
  return parts;
}

function nested(rewrite: Rewrite, field: WireField, edit: FieldEdit): Uint8Array[] {
  return lengthDelimited(field.number, rewriteMessage(rewrite, messageFields(rewrite.bytes, field.payload, field.end), edit));
}

function rewriteGraph(rewrite: Rewrite, graph: WireField): Uint8Array[] {
  return nested(rewrite, graph, (field) => {
    if (field.wire !== WIRE_LEN) return undefined;
    switch (field.number) {
      case GRAPH_NODE:
        return nested(rewrite, field, (attribute) => (isMessage(attribute, NODE_ATTRIBUTE) ? rewriteAttribute(rewrite, attribute) : undefined));
      case GRAPH_INITIALIZER:
        return rewriteTensor(rewrite, field);
      case GRAPH_INPUT:
        return rewriteInput(rewrite, field);
      case GRAPH_VALUE_INFO:
        return null;
      default:
        return undefined;
    }
  });
}

function rewriteAttribute(rewrite: Rewrite, attribute: WireField): Uint8Array[] {
  return nested(rewrite, attribute, (field) => {
    if (isMessage(field, ATTRIBUTE_TENSOR) || isMessage(field, ATTRIBUTE_TENSORS)) return rewriteTensor(rewrite, field);
    // A control-flow node's body would need the same rewrite, recursively: no text tower has one.
    if (isMessage(field, ATTRIBUTE_GRAPH) || isMessage(field, ATTRIBUTE_GRAPHS)) throw new Error("the graph has subgraphs");
    return undefined;
  });
}

/** A graph input's shape: each static size equal to the context length becomes the new length. */
function rewriteInput(rewrite: Rewrite, input: WireField): Uint8Array[] {
  const within =
    (number: number, edit: FieldEdit): FieldEdit =>
    (field) =>
      isMessage(field, number) ? nested(rewrite, field, edit) : undefined;
  return nested(
    rewrite,
    input,
    within(
      VALUE_INFO_TYPE,
      within(
        TYPE_TENSOR,
        within(
          TENSOR_TYPE_SHAPE,
          within(SHAPE_DIM, (field) => {
            if (field.number !== DIM_VALUE || field.wire !== WIRE_VARINT) return undefined;
            const value = varintValue(rewrite.bytes, field);
            return value === rewrite.context ? [Uint8Array.from([...fieldKey(DIM_VALUE, WIRE_VARINT), ...varintBytes(rewrite.length)])] : undefined;
          }),
        ),
      ),
    ),
  );
}

/**
 * A tensor with an axis of the context length, cut to the first `length` entries along it; an
 * int64 shape vector with the context length in it, given the new length there; any other as it is.
 */
function rewriteTensor(rewrite: Rewrite, tensor: WireField): Uint8Array[] | undefined {
  const { bytes, context, length } = rewrite;
  const fields = messageFields(bytes, tensor.payload, tensor.end);
  const dims = repeatedVarints(bytes, fields, TENSOR_DIMS);
  const dataType = fields.find((f) => f.number === TENSOR_DATA_TYPE && f.wire === WIRE_VARINT);
  const type = dataType ? varintValue(bytes, dataType) : 0;
  const raw = fields.find((f) => f.number === TENSOR_RAW_DATA && f.wire === WIRE_LEN);
  const data = raw ? bytes.subarray(raw.payload, raw.end) : undefined;
  if (dims.includes(context)) {
    const elementBytes = ELEMENT_BYTES.get(type);
    // Also refused: one whose bytes are elsewhere (an external file, the typed value fields).
    if (!data || !elementBytes || data.length !== dims.reduce((a, b) => a * b, elementBytes)) {
      throw new Error(`a tensor with a ${context}-long axis is not stored in the graph as raw bytes`);
    }
    const kept = dims.map((size) => (size === context ? length : size));
    return withData(rewrite, tensor, fields, kept, cutLeading(data, dims, kept, elementBytes));
  }
  if (type !== INT64 || dims.length > 1 || !data || data.length % 8 !== 0 || data.length > MAX_SHAPE_VECTOR * 8) return undefined;
  const values = new BigInt64Array(data.slice().buffer);
  if (!values.includes(BigInt(context))) return undefined;
  const replaced = values.map((value) => (value === BigInt(context) ? BigInt(length) : value));
  return withData(rewrite, tensor, fields, dims, new Uint8Array(replaced.buffer));
}

/** The tensor again with `dims` (packed, where the first dims field was) and `data` as its raw bytes. */
function withData(rewrite: Rewrite, tensor: WireField, fields: readonly WireField[], dims: readonly number[], data: Uint8Array): Uint8Array[] {
  const parts: Uint8Array[] = [];
  let dimsWritten = false;
  for (const field of fields) {
    if (field.number === TENSOR_DIMS) {
      if (!dimsWritten) parts.push(...lengthDelimited(TENSOR_DIMS, [Uint8Array.from(dims.flatMap(varintBytes))]));
      dimsWritten = true;
    } else if (field.number === TENSOR_RAW_DATA) parts.push(...lengthDelimited(TENSOR_RAW_DATA, [data]));
    else parts.push(rewrite.bytes.subarray(field.start, field.end));
  }
  return lengthDelimited(tensor.number, parts);
}

/** The leading `kept[axis]` entries of each axis of a row-major array of `dims`. */
function cutLeading(data: Uint8Array, dims: readonly number[], kept: readonly number[], elementBytes: number): Uint8Array {
  const out = new Uint8Array(kept.reduce((a, b) => a * b, elementBytes));
  // Bytes of one step along each axis, in the source and in the result.
  const from = dims.map((_, axis) => dims.slice(axis + 1).reduce((a, b) => a * b, elementBytes));
  const to = kept.map((_, axis) => kept.slice(axis + 1).reduce((a, b) => a * b, elementBytes));
  const copy = (axis: number, source: number, target: number): void => {
    if (axis === dims.length - 1 || dims.length === 0) {
      out.set(data.subarray(source, source + (kept[axis] ?? 1) * elementBytes), target);
      return;
    }
    for (let i = 0; i < kept[axis]!; i++) copy(axis + 1, source + i * from[axis]!, target + i * to[axis]!);
  };
  copy(0, 0, 0);
  return out;
}
