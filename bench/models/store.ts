/**
 * Benchmark-only models, generated once into `bench/.models/` (git-ignored, ≈610 MB): the
 * ViT-B/32 CLIP stand-ins and a batch-capable copy of the fixture face embedder. File names carry
 * a version, so changing a generator makes a new file instead of reusing a stale one.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { clipTextualViTB32, clipVisualViTB32 } from "./clip-vit-b32.ts";
import { withDynamicBatch } from "./dynamic-batch.ts";
import { fixture } from "../fixtures.ts";

const MODELS_DIR = resolve(import.meta.dir, "../.models");

export interface BenchModels {
  clipVisual: string;
  clipTextual: string;
  /** face_embedding_512.onnx with a dynamic batch axis. */
  faceEmbedderBatched: string;
}

function generated(file: string, build: () => Uint8Array): string {
  const path = join(MODELS_DIR, file);
  if (existsSync(path)) return path;
  mkdirSync(MODELS_DIR, { recursive: true });
  const started = performance.now();
  writeFileSync(`${path}.partial`, build());
  renameSync(`${path}.partial`, path);
  console.error(`generated ${path} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return path;
}

export function benchModels(): BenchModels {
  return {
    clipVisual: generated("vit-b-32-visual.v1.onnx", clipVisualViTB32),
    clipTextual: generated("vit-b-32-textual.v1.onnx", clipTextualViTB32),
    faceEmbedderBatched: generated("face-embedding-512-batch.v1.onnx", () => withDynamicBatch(readFileSync(fixture("models", "face_embedding_512.onnx")))),
  };
}
