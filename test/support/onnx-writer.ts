/**
 * The ONNX protobuf writing shared by the test stand-ins (onnx-builder.ts) and the benchmark
 * stand-ins (bench/models/): value infos, attributes, initializers and the model envelope, over
 * npm `onnx-proto`, plus deterministic weights so a stand-in is the same on every run.
 */
import { onnx } from "onnx-proto";

export type ElemType = "float32" | "int32" | "int64";
/** ONNX TensorProto element type codes (also the `to` of a Cast). */
export const ELEM: Record<ElemType, number> = { float32: 1, int32: 6, int64: 7 };

export interface ValueSpec {
  name: string;
  type: ElemType;
  shape: Array<number | string>;
}

/** Integers become INT/INTS attributes; `{ float }` a FLOAT; `{ tensor }` a TENSOR (a Constant's value). */
export type AttributeValue = number | number[] | { float: number } | { tensor: Omit<InitializerSpec, "name"> };

export interface NodeSpec {
  op: string;
  inputs: string[];
  outputs: string[];
  attributes?: Record<string, AttributeValue>;
  /** Defaults to `<op>_<index>`. */
  name?: string;
}

export interface InitializerSpec {
  name: string;
  dims: number[];
  values: Float32Array | BigInt64Array;
}

export interface ModelSpec {
  inputs: ValueSpec[];
  outputs: ValueSpec[];
  nodes: NodeSpec[];
  initializers?: InitializerSpec[];
  /** Shapes recorded for intermediate values, as exporters write them. */
  valueInfos?: ValueSpec[];
  opset: number;
  producer: string;
}

function valueInfo(spec: ValueSpec): onnx.IValueInfoProto {
  return {
    name: spec.name,
    type: {
      tensorType: {
        elemType: ELEM[spec.type],
        shape: { dim: spec.shape.map((d) => (typeof d === "number" ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

function attribute(name: string, value: AttributeValue): onnx.IAttributeProto {
  if (Array.isArray(value)) return { name, type: onnx.AttributeProto.AttributeType.INTS, ints: value };
  if (typeof value === "object" && "tensor" in value)
    return { name, type: onnx.AttributeProto.AttributeType.TENSOR, t: initializer({ name: "", ...value.tensor }) };
  if (typeof value === "object") return { name, type: onnx.AttributeProto.AttributeType.FLOAT, f: value.float };
  return { name, type: onnx.AttributeProto.AttributeType.INT, i: value };
}

function initializer(spec: InitializerSpec): onnx.ITensorProto {
  const { values } = spec;
  const dataType = values instanceof BigInt64Array ? ELEM.int64 : ELEM.float32;
  return { name: spec.name, dims: spec.dims, dataType, rawData: new Uint8Array(values.buffer, values.byteOffset, values.byteLength) };
}

export function encodeModel(spec: ModelSpec): Uint8Array {
  const model: onnx.IModelProto = {
    irVersion: 8,
    producerName: spec.producer,
    opsetImport: [{ domain: "", version: spec.opset }],
    graph: {
      name: spec.producer,
      input: spec.inputs.map(valueInfo),
      output: spec.outputs.map(valueInfo),
      node: spec.nodes.map((node, i) => ({
        name: node.name ?? `${node.op}_${i}`,
        opType: node.op,
        input: node.inputs,
        output: node.outputs,
        attribute: Object.entries(node.attributes ?? {}).map(([key, value]) => attribute(key, value)),
      })),
      initializer: (spec.initializers ?? []).map(initializer),
      valueInfo: (spec.valueInfos ?? []).map(valueInfo),
    },
  };
  return onnx.ModelProto.encode(model).finish();
}

/** Deterministic pseudo-random weights, uniform in ±amplitude/2 (a linear congruential generator). */
export function uniformWeights(count: number, seed: number, amplitude = 1): Float32Array {
  const out = new Float32Array(count);
  let state = seed >>> 0 || 1;
  for (let i = 0; i < count; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    out[i] = (state / 2 ** 32 - 0.5) * amplitude;
  }
  return out;
}
