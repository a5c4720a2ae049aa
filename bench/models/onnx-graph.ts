/**
 * A `Graph` helper for benchmark stand-ins that names intermediate values, so a transformer reads
 * like the PyTorch it mimics. The protobuf writing is the tests' (test/support/onnx-writer.ts);
 * this adds a chosen opset (17 has LayerNormalization), float attributes and int64 initializers.
 */
import { encodeModel, uniformWeights, type AttributeValue, type InitializerSpec, type NodeSpec, type ValueSpec } from "../../test/support/onnx-writer.ts";

/** Builds a graph node by node; every helper returns the name of the value it produced. */
export class Graph {
  private readonly nodes: NodeSpec[] = [];
  private readonly initializers: InitializerSpec[] = [];
  private counter = 0;

  /** Adds a node with one output and returns that output's name. */
  op(opType: string, inputs: string[], attributes: Record<string, AttributeValue> = {}): string {
    return this.named(`${opType.toLowerCase()}_${this.counter++}`, opType, inputs, attributes);
  }

  /** Adds a node whose single output has a fixed name (graph outputs). */
  named(output: string, opType: string, inputs: string[], attributes: Record<string, AttributeValue> = {}): string {
    this.nodes.push({ name: output, op: opType, inputs, outputs: [output], attributes });
    return output;
  }

  weight(dims: number[], values: Float32Array): string {
    const name = `w_${this.counter++}`;
    this.initializers.push({ name, dims, values });
    return name;
  }

  int64(values: number[]): string {
    const name = `i_${this.counter++}`;
    this.initializers.push({ name, dims: [values.length], values: BigInt64Array.from(values, BigInt) });
    return name;
  }

  encode(io: { inputs: ValueSpec[]; outputs: ValueSpec[]; opset: number; producer: string }): Uint8Array {
    return encodeModel({ ...io, nodes: this.nodes, initializers: this.initializers });
  }
}

/**
 * Deterministic pseudo-random weights, uniform in ±scale·√3 (standard deviation `scale`), so a
 * stand-in is the same on every run and its activations stay in a realistic range.
 */
export function randomWeights(count: number, seed: number, scale: number): Float32Array {
  return uniformWeights(count, seed, 2 * Math.sqrt(3) * scale);
}
