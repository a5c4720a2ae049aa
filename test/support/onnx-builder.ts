/**
 * Writes small ONNX models for tests (npm `onnx-proto`): stand-ins with the exact input/output
 * signatures of Immich's models, whose outputs depend on their inputs so tests can tell inputs apart.
 */
import { ELEM, encodeModel, uniformWeights, type InitializerSpec, type NodeSpec, type ValueSpec } from "./onnx-writer.ts";

export function buildModel(graph: {
  inputs: ValueSpec[];
  outputs: ValueSpec[];
  nodes: NodeSpec[];
  initializers?: InitializerSpec[];
  valueInfos?: ValueSpec[];
}): Uint8Array {
  return encodeModel({ ...graph, opset: 13, producer: "immich-ml-tests" });
}

/** Deterministic pseudo-random weights in ±0.5 (so a stand-in model is the same on every run). */
export function weights(count: number, seed = 1): Float32Array {
  return uniformWeights(count, seed);
}

/** CLIP image tower stand-in: `image` f32[1,3,s,s] → `embedding` f32[1,dim], L2-normalised. */
export function clipVisualModel(size = 224, dim = 512): Uint8Array {
  return buildModel({
    inputs: [{ name: "image", type: "float32", shape: [1, 3, size, size] }],
    outputs: [{ name: "embedding", type: "float32", shape: [1, dim] }],
    initializers: [
      { name: "w", dims: [3, dim], values: weights(3 * dim, 7) },
      { name: "b", dims: [dim], values: weights(dim, 11) },
    ],
    nodes: [
      { op: "GlobalAveragePool", inputs: ["image"], outputs: ["pooled"] },
      { op: "Flatten", inputs: ["pooled"], outputs: ["flat"], attributes: { axis: 1 } },
      { op: "MatMul", inputs: ["flat", "w"], outputs: ["projected"] },
      { op: "Add", inputs: ["projected", "b"], outputs: ["biased"] },
      { op: "LpNormalization", inputs: ["biased"], outputs: ["embedding"], attributes: { axis: 1, p: 2 } },
    ],
  });
}

/** CLIP text tower stand-in: `text` int[1,ctx] → `embedding` f32[1,dim], L2-normalised. */
export function clipTextualModel(options: { context?: number; dim?: number; idType?: "int32" | "int64" } = {}): Uint8Array {
  const context = options.context ?? 77;
  const dim = options.dim ?? 512;
  return buildModel({
    inputs: [{ name: "text", type: options.idType ?? "int32", shape: [1, context] }],
    outputs: [{ name: "embedding", type: "float32", shape: [1, dim] }],
    initializers: [{ name: "w", dims: [context, dim], values: weights(context * dim, 5) }],
    nodes: [
      { op: "Cast", inputs: ["text"], outputs: ["ids"], attributes: { to: ELEM.float32 } },
      { op: "MatMul", inputs: ["ids", "w"], outputs: ["projected"] },
      { op: "LpNormalization", inputs: ["projected"], outputs: ["embedding"], attributes: { axis: 1, p: 2 } },
    ],
  });
}

/** M-CLIP text tower stand-in: `input_ids` + `attention_mask` int32[1,77] → `embedding` f32[1,dim]. */
export function mclipTextualModel(dim = 512): Uint8Array {
  return buildModel({
    inputs: [
      { name: "input_ids", type: "int32", shape: [1, 77] },
      { name: "attention_mask", type: "int32", shape: [1, 77] },
    ],
    outputs: [{ name: "embedding", type: "float32", shape: [1, dim] }],
    initializers: [{ name: "w", dims: [77, dim], values: weights(77 * dim, 3) }],
    nodes: [
      { op: "Cast", inputs: ["input_ids"], outputs: ["ids"], attributes: { to: ELEM.float32 } },
      { op: "Cast", inputs: ["attention_mask"], outputs: ["mask"], attributes: { to: ELEM.float32 } },
      { op: "Mul", inputs: ["ids", "mask"], outputs: ["masked"] },
      { op: "MatMul", inputs: ["masked", "w"], outputs: ["projected"] },
      { op: "LpNormalization", inputs: ["projected"], outputs: ["embedding"], attributes: { axis: 1, p: 2 } },
    ],
  });
}

/**
 * A CLIP-visual-shaped model whose run costs real compute (for load and latency benchmarks):
 * the image's 672 rows of 224 go through `layers` dense layers of `width`, then are averaged.
 * The layers share one weight matrix, so the cost grows with `layers` but the file does not.
 */
export function heavyVisualModel(options: { dim?: number; layers?: number; width?: number } = {}): Uint8Array {
  const dim = options.dim ?? 512;
  const layers = options.layers ?? 6;
  const width = options.width ?? 1024;
  const nodes: NodeSpec[] = [
    { op: "Flatten", inputs: ["image"], outputs: ["rows"], attributes: { axis: 3 } },
    { op: "MatMul", inputs: ["rows", "w_in"], outputs: ["m_in"] },
    { op: "Tanh", inputs: ["m_in"], outputs: ["h0"] },
  ];
  const initializers: InitializerSpec[] = [{ name: "w_in", dims: [224, width], values: weights(224 * width, 13) }];
  initializers.push({ name: "w_layer", dims: [width, width], values: weights(width * width, 17) });
  for (let i = 0; i < layers; i++) {
    nodes.push({ op: "MatMul", inputs: [`h${i}`, "w_layer"], outputs: [`m${i}`] });
    nodes.push({ op: "Tanh", inputs: [`m${i}`], outputs: [`h${i + 1}`] });
  }
  initializers.push({ name: "w_out", dims: [width, dim], values: weights(width * dim, 99) });
  nodes.push({ op: "ReduceMean", inputs: [`h${layers}`], outputs: ["pooled"], attributes: { axes: [0], keepdims: 1 } });
  nodes.push({ op: "MatMul", inputs: ["pooled", "w_out"], outputs: ["projected"] });
  nodes.push({ op: "LpNormalization", inputs: ["projected"], outputs: ["embedding"], attributes: { axis: 1, p: 2 } });
  return buildModel({
    inputs: [{ name: "image", type: "float32", shape: [1, 3, 224, 224] }],
    outputs: [{ name: "embedding", type: "float32", shape: [1, dim] }],
    initializers,
    nodes,
  });
}

/**
 * A face-recognition stand-in with a batch axis (`input` f32[batch,3,112,112] → `output`
 * f32[batch,512]): two strided convolutions, ReLU, global pooling and a projection, so that every
 * output depends on the whole crop. `batch` 1 gives a model fixed to one face per run.
 */
export function faceEmbedderModel(batch: number | string = "batch"): Uint8Array {
  return buildModel({
    inputs: [{ name: "input", type: "float32", shape: [batch, 3, 112, 112] }],
    outputs: [{ name: "output", type: "float32", shape: [batch, 512] }],
    initializers: [
      { name: "k1", dims: [16, 3, 7, 7], values: weights(16 * 3 * 7 * 7, 21) },
      { name: "k2", dims: [32, 16, 3, 3], values: weights(32 * 16 * 3 * 3, 23) },
      { name: "w", dims: [32, 512], values: weights(32 * 512, 29) },
    ],
    nodes: [
      { op: "Conv", inputs: ["input", "k1"], outputs: ["c1"], attributes: { kernel_shape: [7, 7], strides: [4, 4] } },
      { op: "Relu", inputs: ["c1"], outputs: ["r1"] },
      { op: "Conv", inputs: ["r1", "k2"], outputs: ["c2"], attributes: { kernel_shape: [3, 3], strides: [2, 2] } },
      { op: "Relu", inputs: ["c2"], outputs: ["r2"] },
      { op: "GlobalAveragePool", inputs: ["r2"], outputs: ["pooled"] },
      { op: "Flatten", inputs: ["pooled"], outputs: ["flat"], attributes: { axis: 1 } },
      { op: "MatMul", inputs: ["flat", "w"], outputs: ["output"] },
    ],
  });
}

/**
 * A CLIP text tower that loads but fails inside onnxruntime on every run: its 512-value projection
 * is reshaped to a shape read from the input at run time (the largest token id, e.g. 49407), which
 * cannot hold it. For tests that one failing inference stays that request's problem.
 */
export function runtimeFailingTextualModel(): Uint8Array {
  return buildModel({
    inputs: [{ name: "text", type: "int32", shape: [1, 77] }],
    outputs: [{ name: "embedding", type: "float32", shape: [1, 512] }],
    initializers: [{ name: "w", dims: [77, 512], values: weights(77 * 512, 5) }],
    nodes: [
      { op: "Cast", inputs: ["text"], outputs: ["ids"], attributes: { to: ELEM.float32 } },
      { op: "MatMul", inputs: ["ids", "w"], outputs: ["projected"] },
      { op: "Cast", inputs: ["text"], outputs: ["ids64"], attributes: { to: ELEM.int64 } },
      { op: "ReduceMax", inputs: ["ids64"], outputs: ["shape"], attributes: { axes: [1], keepdims: 0 } },
      { op: "Reshape", inputs: ["projected", "shape"], outputs: ["embedding"] },
    ],
  });
}

/**
 * A model whose run needs a lot of memory for a little input (`x` f32[1,1,h,w] → `mean` f32[]):
 * a 1×1 convolution to 32 channels, its sigmoid, their sum, then the mean of it all: three
 * tensors of 32 × h × w floats, 216 MB at 768², most of them alive at once.
 */
export function activationHeavyModel(): Uint8Array {
  return buildModel({
    inputs: [{ name: "x", type: "float32", shape: [1, 1, "h", "w"] }],
    outputs: [{ name: "mean", type: "float32", shape: [] }],
    initializers: [{ name: "k", dims: [32, 1, 1, 1], values: weights(32, 31) }],
    nodes: [
      { op: "Conv", inputs: ["x", "k"], outputs: ["c"], attributes: { kernel_shape: [1, 1] } },
      { op: "Sigmoid", inputs: ["c"], outputs: ["s"] },
      { op: "Add", inputs: ["c", "s"], outputs: ["t"] },
      { op: "ReduceMean", inputs: ["t"], outputs: ["mean"], attributes: { keepdims: 0 } },
    ],
  });
}

/**
 * A text tower with a transformer's sequence plumbing, small: `text` int32[1,context] → token
 * table rows + positional embedding → one self-attention (masked causally, as CLIP's, when
 * `causal`) with a residual → pooled at the end-of-text token (the largest id, as CLIP), or
 * without `causal` the mean over every position (what a tower that sees its padding does) →
 * projection → L2-normalised `embedding`. Its shapes carry the context length the way exports do:
 * a reshape's int64 shape vector, the mask as a Constant node, recorded value shapes.
 */
export function sequenceTextTower(options: { context?: number; vocab?: number; width?: number; causal?: boolean } = {}): Uint8Array {
  const context = options.context ?? 12;
  const vocab = options.vocab ?? 64;
  const width = options.width ?? 16;
  const causal = options.causal ?? true;
  const mask = new Float32Array(context * context);
  for (let row = 0; row < context; row++) for (let col = row + 1; col < context; col++) mask[row * context + col] = -Infinity;
  const scores = causal ? "masked" : "scores";
  return buildModel({
    inputs: [{ name: "text", type: "int32", shape: [1, context] }],
    outputs: [{ name: "embedding", type: "float32", shape: [1, width] }],
    valueInfos: [{ name: "tokens", type: "float32", shape: [1, context, width] }],
    initializers: [
      { name: "token_table", dims: [vocab, width], values: weights(vocab * width, 13) },
      { name: "positions", dims: [context, width], values: weights(context * width, 17) },
      { name: "sequence_shape", dims: [3], values: BigInt64Array.of(1n, BigInt(context), BigInt(width)) },
      { name: "pooled_shape", dims: [2], values: BigInt64Array.of(1n, BigInt(width)) },
      { name: "projection", dims: [width, width], values: weights(width * width, 19) },
    ],
    nodes: [
      { op: "Gather", inputs: ["token_table", "text"], outputs: ["rows"] },
      { op: "Add", inputs: ["rows", "positions"], outputs: ["summed"] },
      { op: "Reshape", inputs: ["summed", "sequence_shape"], outputs: ["tokens"] },
      { op: "Transpose", inputs: ["tokens"], outputs: ["keys"], attributes: { perm: [0, 2, 1] } },
      { op: "MatMul", inputs: ["tokens", "keys"], outputs: ["scores"] },
      ...(causal
        ? [
            { op: "Constant", inputs: [], outputs: ["mask"], attributes: { value: { tensor: { dims: [context, context], values: mask } } } },
            { op: "Add", inputs: ["scores", "mask"], outputs: ["masked"] },
          ]
        : []),
      { op: "Softmax", inputs: [scores], outputs: ["attention"], attributes: { axis: -1 } },
      { op: "MatMul", inputs: ["attention", "tokens"], outputs: ["attended"] },
      { op: "Add", inputs: ["tokens", "attended"], outputs: ["hidden"] },
      ...(causal
        ? [
            { op: "ArgMax", inputs: ["text"], outputs: ["end"], attributes: { axis: 1, keepdims: 0 } },
            { op: "Gather", inputs: ["hidden", "end"], outputs: ["picked"], attributes: { axis: 1 } },
          ]
        : [{ op: "ReduceMean", inputs: ["hidden"], outputs: ["picked"], attributes: { axes: [1], keepdims: 0 } }]),
      { op: "Reshape", inputs: ["picked", "pooled_shape"], outputs: ["pooled"] },
      { op: "MatMul", inputs: ["pooled", "projection"], outputs: ["projected"] },
      { op: "LpNormalization", inputs: ["projected"], outputs: ["embedding"], attributes: { axis: 1, p: 2 } },
    ],
  });
}
