/**
 * Compute-realistic stand-ins for OpenAI CLIP ViT-B/32 as Immich exports it, for benchmarks only:
 * the same architecture, tensor shapes and FLOPs, random weights, upstream's signature
 * (`image` f32[1,3,224,224] → `embedding` f32[1,512]; `text` int32[1,77] → `embedding` f32[1,512]),
 * batch axis fixed to 1, embedding L2-normalised inside the graph. Opset 17 (LayerNormalization).
 *
 * Visual: 32x32 patch conv → 49 tokens + class token, width 768, 12 pre-LN blocks with 12 heads and
 * a 3072 QuickGELU MLP, ln_post on the class token, projection to 512 (≈4.4 GFLOPs).
 * Textual: token + positional embedding, width 512, 12 blocks with 8 heads, causal mask, ln_final,
 * pooling at the end-of-text token (argmax of the ids, as CLIP does), projection to 512.
 */
import { Graph, randomWeights } from "./onnx-graph.ts";

const EPS = { float: 1e-5 };

interface Tower {
  graph: Graph;
  seed: number;
}

function ones(n: number): Float32Array {
  return new Float32Array(n).fill(1);
}

function param(t: Tower, dims: number[], scale: number): string {
  return t.graph.weight(
    dims,
    randomWeights(
      dims.reduce((a, b) => a * b, 1),
      t.seed++,
      scale,
    ),
  );
}

function layerNorm(t: Tower, x: string, width: number): string {
  return t.graph.op("LayerNormalization", [x, t.graph.weight([width], ones(width)), t.graph.weight([width], new Float32Array(width))], {
    axis: -1,
    epsilon: EPS,
  });
}

function linear(t: Tower, x: string, inWidth: number, outWidth: number): string {
  const g = t.graph;
  const product = g.op("MatMul", [x, param(t, [inWidth, outWidth], 1 / Math.sqrt(inWidth))]);
  return g.op("Add", [product, param(t, [outWidth], 0.02)]);
}

/** Multi-head self-attention over x [1, tokens, width], as torch.nn.MultiheadAttention computes it. */
function attention(t: Tower, x: string, tokens: number, width: number, heads: number, mask: string | undefined): string {
  const g = t.graph;
  const headWidth = width / heads;
  const qkv = linear(t, x, width, 3 * width);
  // [1, T, 3W] → [1, T, 3, H, D] → [3, 1, H, T, D]
  const split = g.op("Transpose", [g.op("Reshape", [qkv, g.int64([1, tokens, 3, heads, headWidth])])], { perm: [2, 0, 3, 1, 4] });
  const part = (i: number) => g.op("Squeeze", [g.op("Gather", [split, g.int64([i])], { axis: 0 }), g.int64([0])]);
  const [q, k, v] = [part(0), part(1), part(2)];
  const scaled = g.op("Mul", [q, g.weight([1], Float32Array.of(1 / Math.sqrt(headWidth)))]);
  let scores = g.op("MatMul", [scaled, g.op("Transpose", [k], { perm: [0, 1, 3, 2] })]);
  if (mask) scores = g.op("Add", [scores, mask]);
  const context = g.op("MatMul", [g.op("Softmax", [scores], { axis: -1 }), v]);
  const merged = g.op("Reshape", [g.op("Transpose", [context], { perm: [0, 2, 1, 3] }), g.int64([1, tokens, width])]);
  return linear(t, merged, width, width);
}

/** x * sigmoid(1.702 x), CLIP's activation. */
function quickGelu(t: Tower, x: string): string {
  const g = t.graph;
  return g.op("Mul", [x, g.op("Sigmoid", [g.op("Mul", [x, g.weight([1], Float32Array.of(1.702))])])]);
}

function residualBlock(t: Tower, x: string, tokens: number, width: number, heads: number, mask?: string): string {
  const g = t.graph;
  const attended = g.op("Add", [x, attention(t, layerNorm(t, x, width), tokens, width, heads, mask)]);
  const hidden = quickGelu(t, linear(t, layerNorm(t, attended, width), width, 4 * width));
  return g.op("Add", [attended, linear(t, hidden, 4 * width, width)]);
}

function l2Normalise(g: Graph, x: string, output: string): string {
  return g.named(output, "Div", [x, g.op("ReduceL2", [x], { axes: [-1], keepdims: 1 })]);
}

export const VISUAL = { size: 224, patch: 32, width: 768, layers: 12, heads: 12, embedDim: 512 } as const;
export const TEXTUAL = { context: 77, vocab: 49408, width: 512, layers: 12, heads: 8, embedDim: 512 } as const;

export function clipVisualViTB32(): Uint8Array {
  const { size, patch, width, layers, heads, embedDim } = VISUAL;
  const grid = size / patch;
  const tokens = grid * grid + 1;
  const t: Tower = { graph: new Graph(), seed: 1000 };
  const g = t.graph;
  const patches = g.op("Conv", ["image", param(t, [width, 3, patch, patch], 1 / Math.sqrt(3 * patch * patch))], {
    kernel_shape: [patch, patch],
    strides: [patch, patch],
  });
  const sequence = g.op("Transpose", [g.op("Reshape", [patches, g.int64([1, width, grid * grid])])], { perm: [0, 2, 1] });
  let x = g.op("Concat", [param(t, [1, 1, width], 0.02), sequence], { axis: 1 });
  x = layerNorm(t, g.op("Add", [x, param(t, [tokens, width], 0.01)]), width);
  for (let i = 0; i < layers; i++) x = residualBlock(t, x, tokens, width, heads);
  const classToken = g.op("Gather", [x, g.int64([0])], { axis: 1 });
  const pooled = layerNorm(t, g.op("Reshape", [classToken, g.int64([1, width])]), width);
  const projected = g.op("MatMul", [pooled, param(t, [width, embedDim], 1 / Math.sqrt(width))]);
  l2Normalise(g, projected, "embedding");
  return g.encode({
    inputs: [{ name: "image", type: "float32", shape: [1, 3, size, size] }],
    outputs: [{ name: "embedding", type: "float32", shape: [1, embedDim] }],
    opset: 17,
    producer: "immich-ml-bench-vit-b-32-visual",
  });
}

export function clipTextualViTB32(): Uint8Array {
  const { context, vocab, width, layers, heads, embedDim } = TEXTUAL;
  const t: Tower = { graph: new Graph(), seed: 2000 };
  const g = t.graph;
  const causal = new Float32Array(context * context);
  for (let row = 0; row < context; row++) for (let col = row + 1; col < context; col++) causal[row * context + col] = -Infinity;
  const mask = g.weight([context, context], causal);
  let x = g.op("Gather", [param(t, [vocab, width], 0.02), "text"], { axis: 0 });
  x = g.op("Add", [x, param(t, [context, width], 0.01)]);
  for (let i = 0; i < layers; i++) x = residualBlock(t, x, context, width, heads, mask);
  x = layerNorm(t, x, width);
  // CLIP pools at the end-of-text token, the largest id in the sequence.
  const eot = g.op("ArgMax", ["text"], { axis: 1, keepdims: 0 });
  const pooled = g.op("Reshape", [g.op("Gather", [x, eot], { axis: 1 }), g.int64([1, width])]);
  const projected = g.op("MatMul", [pooled, param(t, [width, embedDim], 1 / Math.sqrt(width))]);
  l2Normalise(g, projected, "embedding");
  return g.encode({
    inputs: [{ name: "text", type: "int32", shape: [1, context] }],
    outputs: [{ name: "embedding", type: "float32", shape: [1, embedDim] }],
    opset: 17,
    producer: "immich-ml-bench-vit-b-32-textual",
  });
}
