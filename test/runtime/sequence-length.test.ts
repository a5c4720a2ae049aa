/**
 * A text tower's graph cut to a shorter sequence (runtime/sequence-length.ts): a causal tower
 * gives the same embedding on the text's positions alone; the rewrite touches only what carries
 * the context length and copies every other byte; what it cannot rewrite, it refuses.
 */
import { describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { onnx } from "onnx-proto";
import type { SessionSettings } from "../../src/runtime/onnx-session.ts";
import { createNativeSession, releaseNativeSession, runNativeSession } from "../../src/runtime/ort-capi.ts";
import { shortenSequence } from "../../src/runtime/sequence-length.ts";
import { sequenceTextTower } from "../support/onnx-builder.ts";
import { tempDir } from "../support/temp.ts";

const SETTINGS: SessionSettings = { inferenceThreads: 1, intraOpThreads: 1, interOpThreads: 1, arena: true, deviceId: "0" };
const CONTEXT = 12;
const END = 63;

/** Start, three words, end, then the end token as padding (CLIP's layout: its pad is its end). */
function ids(length: number, text = [1, 20, 30, 40, END]): Int32Array {
  const out = new Int32Array(length).fill(END);
  out.set(text.slice(0, length));
  return out;
}

function embed(model: Uint8Array, text: Int32Array): Float32Array {
  const path = join(tempDir(), "model.onnx");
  writeFileSync(path, model);
  const session = createNativeSession(path, SETTINGS);
  try {
    return runNativeSession(session.handle, session.outputNames, { text: { type: "int32", data: text, dims: [1, text.length] } })[0]!.data;
  } finally {
    releaseNativeSession(session.handle);
  }
}

function largestDifference(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  return a.reduce((largest, value, i) => Math.max(largest, Math.abs(value - b[i]!)), 0);
}

const tensor = (graph: onnx.IGraphProto, name: string) => graph.initializer!.find((t) => t.name === name)!;
const floats = (t: onnx.ITensorProto) => new Float32Array(Uint8Array.from(t.rawData!).buffer);
const int64s = (t: onnx.ITensorProto) => Array.from(new BigInt64Array(Uint8Array.from(t.rawData!).buffer), Number);

describe("shortenSequence", () => {
  test("a causal tower cut to 5 or 8 positions gives the full tower's embedding of a text that fits", () => {
    const model = sequenceTextTower({ context: CONTEXT });
    const full = embed(model, ids(CONTEXT));
    for (const length of [5, 8]) {
      expect(largestDifference(embed(shortenSequence(model, CONTEXT, length), ids(length)), full)).toBeLessThanOrEqual(1e-6);
    }
    // The check is not vacuous: another text embeds differently.
    expect(largestDifference(embed(model, ids(CONTEXT, [1, 21, 31, 41, END])), full)).toBeGreaterThan(1e-3);
  });

  test("rewrites the inputs, the context-long tensors and the shape vectors naming the context; copies the rest", () => {
    const source = onnx.ModelProto.decode(sequenceTextTower({ context: CONTEXT }));
    // A longer int64 vector that happens to hold the context length is data, not a shape.
    source.graph!.initializer!.push({
      name: "not_a_shape",
      dims: [9],
      dataType: 7,
      rawData: new Uint8Array(BigInt64Array.from([...Array(9).keys()].map((i) => BigInt(i + 8))).buffer),
    });
    source.docString = "kept as it was";
    const original = onnx.ModelProto.encode(source).finish();
    const before = onnx.ModelProto.decode(original).graph!;
    const after = onnx.ModelProto.decode(shortenSequence(original, CONTEXT, 5));

    expect(after.docString).toBe("kept as it was");
    expect(after.graph!.input![0]!.type!.tensorType!.shape!.dim!.map((d) => Number(d.dimValue))).toEqual([1, 5]);
    expect(after.graph!.valueInfo).toEqual([]);
    expect(before.valueInfo!.length).toBe(1);

    const positions = tensor(after.graph!, "positions");
    expect(positions.dims!.map(Number)).toEqual([5, 16]);
    expect(floats(positions)).toEqual(floats(tensor(before, "positions")).subarray(0, 5 * 16));

    const mask = after.graph!.node!.find((n) => n.opType === "Constant")!.attribute![0]!.t!;
    const fullMask = floats(before.node!.find((n) => n.opType === "Constant")!.attribute![0]!.t!);
    expect(mask.dims!.map(Number)).toEqual([5, 5]);
    expect(Array.from(floats(mask))).toEqual([0, 1, 2, 3, 4].flatMap((row) => Array.from(fullMask.subarray(row * CONTEXT, row * CONTEXT + 5))));

    expect(int64s(tensor(after.graph!, "sequence_shape"))).toEqual([1, 5, 16]);
    expect(int64s(tensor(after.graph!, "pooled_shape"))).toEqual([1, 16]);
    expect(int64s(tensor(after.graph!, "not_a_shape"))).toEqual(int64s(tensor(before, "not_a_shape")));
    for (const name of ["token_table", "projection"])
      expect(Uint8Array.from(tensor(after.graph!, name).rawData!)).toEqual(Uint8Array.from(tensor(before, name).rawData!));
    expect(after.graph!.node!.map((n) => n.opType)).toEqual(before.node!.map((n) => n.opType));
  });

  test("a tower that attends to its padding gives another embedding once cut: why sequence-variants checks each", () => {
    const model = sequenceTextTower({ context: CONTEXT, causal: false });
    expect(largestDifference(embed(shortenSequence(model, CONTEXT, 5), ids(5)), embed(model, ids(CONTEXT)))).toBeGreaterThan(1e-3);
  });

  test("refuses lengths outside (0, context), context-long tensors it cannot cut, and subgraphs", () => {
    const model = sequenceTextTower({ context: CONTEXT });
    for (const length of [0, CONTEXT, CONTEXT + 1, 2.5]) expect(() => shortenSequence(model, CONTEXT, length)).toThrow(/cannot shorten/);

    const external = onnx.ModelProto.decode(model);
    const positions = tensor(external.graph!, "positions");
    positions.rawData = new Uint8Array(0);
    positions.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
    positions.externalData = [{ key: "location", value: "model.onnx.data" }];
    expect(() => shortenSequence(onnx.ModelProto.encode(external).finish(), CONTEXT, 5)).toThrow(/not stored in the graph/);

    const withBranch = onnx.ModelProto.decode(model);
    withBranch.graph!.node!.push({
      opType: "If",
      input: ["cond"],
      output: ["branch"],
      attribute: [{ name: "then_branch", type: onnx.AttributeProto.AttributeType.GRAPH, g: { name: "then" } }],
    });
    expect(() => shortenSequence(onnx.ModelProto.encode(withBranch).finish(), CONTEXT, 5)).toThrow(/subgraphs/);
  });
});
