/**
 * A copy of a model whose batch axis was fixed to 1 at export, made to take any batch: the first
 * input and output dimension becomes the symbolic `batch`, and a Reshape target that starts with
 * a literal 1 starts with 0 instead ("keep the input's size"), so the flatten before the
 * embedding keeps the batch. Upstream rewrites Immich's recognition models on disk the same way
 * (only the input/output dimensions: theirs have no hard-coded Reshape). Same weights, same
 * compute per face; used to measure cross-request batching with the fixture face embedder.
 */
import { onnx } from "onnx-proto";

export function withDynamicBatch(bytes: Uint8Array): Uint8Array {
  const model = onnx.ModelProto.decode(bytes);
  const graph = model.graph!;
  for (const value of [graph.input![0]!, graph.output![0]!]) value.type!.tensorType!.shape!.dim![0] = { dimParam: "batch" };
  const reshapeTargets = new Set(graph.node!.filter((node) => node.opType === "Reshape").map((node) => node.input![1]!));
  for (const init of graph.initializer!) {
    if (!reshapeTargets.has(init.name!) || init.dataType !== onnx.TensorProto.DataType.INT64 || !init.rawData?.length) continue;
    const raw = new Uint8Array(init.rawData);
    const target = new BigInt64Array(raw.slice().buffer);
    if (target[0] !== 1n) continue;
    target[0] = 0n;
    init.rawData = new Uint8Array(target.buffer);
  }
  // Inferred shapes recorded at export would still say batch 1.
  graph.valueInfo = [];
  return onnx.ModelProto.encode(model).finish();
}
