/**
 * A small ONNX graph writer for benchmark stand-ins (npm `onnx-proto`), after the test builder in
 * test/support/onnx-builder.ts, extended with what transformer graphs need: a chosen opset
 * (17 has LayerNormalization), float and int attributes, int64 initializers (shapes, indices), and
 * a `Graph` helper that names intermediate values so a model reads like the PyTorch it mimics.
 */
import { onnx } from "onnx-proto";

type ElemType = "float32" | "int32" | "int64";
const ELEM: Record<ElemType, number> = { float32: 1, int32: 6, int64: 7 };

export interface ValueSpec {
  name: string;
  type: ElemType;
  shape: Array<number | string>;
}

/** Integers become INT/INTS attributes; non-integer numbers FLOAT. */
export type AttributeValue = number | number[] | { float: number };

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
  if (typeof value === "object") return { name, type: onnx.AttributeProto.AttributeType.FLOAT, f: value.float };
  return { name, type: onnx.AttributeProto.AttributeType.INT, i: value };
}

function bytesOf(values: Float32Array | BigInt64Array): Uint8Array {
  return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
}

/** Builds a graph node by node; every helper returns the name of the value it produced. */
export class Graph {
  private readonly nodes: onnx.INodeProto[] = [];
  private readonly initializers: onnx.ITensorProto[] = [];
  private counter = 0;

  /** Adds a node with one output and returns that output's name. */
  op(opType: string, inputs: string[], attributes: Record<string, AttributeValue> = {}): string {
    const output = `${opType.toLowerCase()}_${this.counter++}`;
    this.nodes.push({
      name: output,
      opType,
      input: inputs,
      output: [output],
      attribute: Object.entries(attributes).map(([key, value]) => attribute(key, value)),
    });
    return output;
  }

  /** Adds a node whose single output has a fixed name (graph outputs). */
  named(output: string, opType: string, inputs: string[], attributes: Record<string, AttributeValue> = {}): string {
    this.nodes.push({ name: output, opType, input: inputs, output: [output], attribute: Object.entries(attributes).map(([k, v]) => attribute(k, v)) });
    return output;
  }

  weight(dims: number[], values: Float32Array): string {
    const name = `w_${this.counter++}`;
    this.initializers.push({ name, dims, dataType: ELEM.float32, rawData: bytesOf(values) });
    return name;
  }

  int64(values: number[]): string {
    const name = `i_${this.counter++}`;
    this.initializers.push({ name, dims: [values.length], dataType: ELEM.int64, rawData: bytesOf(BigInt64Array.from(values, BigInt)) });
    return name;
  }

  encode(io: { inputs: ValueSpec[]; outputs: ValueSpec[]; opset: number; producer: string }): Uint8Array {
    const model: onnx.IModelProto = {
      irVersion: 8,
      producerName: io.producer,
      opsetImport: [{ domain: "", version: io.opset }],
      graph: { name: io.producer, input: io.inputs.map(valueInfo), output: io.outputs.map(valueInfo), node: this.nodes, initializer: this.initializers },
    };
    return onnx.ModelProto.encode(model).finish();
  }
}

/**
 * Deterministic pseudo-random weights, uniform in ±scale·√3 (standard deviation `scale`), so a
 * stand-in is the same on every run and its activations stay in a realistic range.
 */
export function randomWeights(count: number, seed: number, scale: number): Float32Array {
  const out = new Float32Array(count);
  const amplitude = 2 * Math.sqrt(3) * scale;
  let state = seed >>> 0 || 1;
  for (let i = 0; i < count; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    out[i] = (state / 2 ** 32 - 0.5) * amplitude;
  }
  return out;
}
