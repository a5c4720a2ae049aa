/**
 * The model cache the benchmark server reads, in upstream's layout (`<cache>/<task>/<name>/<type>/`):
 *
 * - `clip/ViT-B-32__openai`: the real-architecture export when the export venv is present
 *   (bench/models/clip-export.ts), else the ViT-B/32 stand-ins (bench/models/store.ts), with the
 *   real CLIP tokenizer and open_clip configs from the fixtures;
 * - `facial-recognition/buffalo_m`: the fixture SCRFD 2.5g detector and face embedder as they are
 *   (the embedder's batch axis is fixed to 1, so its faces run one by one);
 * - `facial-recognition/buffalo_l`: the same detector and a batch-capable copy of the embedder,
 *   for cross-request batching;
 * - `ocr/PP-OCRv5_mobile`: the fixture PP-OCRv3 detector and PP-OCRv4 recogniser, as
 *   test/tasks/ocr/endpoint.fixtures.test.ts lays them out.
 *
 * Large files are symlinked, not copied.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fixture, ocrAsset, requireFixtures } from "./fixtures.ts";
import { exportedClipModels } from "./models/clip-export.ts";
import { benchModels } from "./models/store.ts";

export const CLIP_MODEL = "ViT-B-32__openai";
/** Fixture embedder, batch axis fixed to 1. */
export const FACE_MODEL = "buffalo_m";
/** Same detector, batch-capable embedder. */
export const FACE_MODEL_BATCHED = "buffalo_l";
export const OCR_MODEL = "PP-OCRv5_mobile";

export interface BenchCache {
  /** The service's cache folder. */
  folder: string;
  /**
   * Every model.onnx as it was placed, by `<task>/<name>/<type>`, in a copy of the layout that
   * only links to the sources: what the plain floors load (upstream's files as they are; the
   * service rewrites its own copies, src/runtime/mapped-weights.ts) and whose sizes count.
   */
  models: Record<string, string>;
  floorFolder: string;
}

/** Removes the folders (the generated models they link to stay in bench/.models). */
export function removeBenchCache(cache: BenchCache): void {
  rmSync(cache.folder, { recursive: true, force: true });
  rmSync(cache.floorFolder, { recursive: true, force: true });
}

export function buildBenchCache(): BenchCache {
  requireFixtures();
  const generated = benchModels();
  const folder = mkdtempSync(join(tmpdir(), "immich-ml-bench-"));
  const floorFolder = mkdtempSync(join(tmpdir(), "immich-ml-bench-floor-"));
  const models: Record<string, string> = {};
  const place = (path: string, source: string, link: boolean) => {
    const target = join(folder, path);
    mkdirSync(dirname(target), { recursive: true });
    if (link) symlinkSync(source, target);
    else copyFileSync(source, target);
    const floorTarget = join(floorFolder, path);
    mkdirSync(dirname(floorTarget), { recursive: true });
    symlinkSync(source, floorTarget);
    if (path.endsWith("model.onnx")) models[dirname(path)] = floorTarget;
  };
  const clip = `clip/${CLIP_MODEL}`;
  place(`${clip}/config.json`, fixture("clip-config", "config.json"), false);
  place(`${clip}/visual/preprocess_cfg.json`, fixture("clip-config", "preprocess_cfg.json"), false);
  const clipTowers = exportedClipModels() ?? { visual: generated.clipVisual, textual: generated.clipTextual };
  place(`${clip}/visual/model.onnx`, clipTowers.visual, true);
  place(`${clip}/textual/model.onnx`, clipTowers.textual, true);
  place(`${clip}/textual/tokenizer.json`, fixture("clip-tokenizer", "tokenizer.json"), false);
  place(`${clip}/textual/tokenizer_config.json`, fixture("clip-tokenizer", "tokenizer_config.json"), false);
  for (const [name, embedder] of [
    [FACE_MODEL, fixture("models", "face_embedding_512.onnx")],
    [FACE_MODEL_BATCHED, generated.faceEmbedderBatched],
  ] as const) {
    place(`facial-recognition/${name}/detection/model.onnx`, fixture("models", "scrfd_2.5g.onnx"), false);
    place(`facial-recognition/${name}/recognition/model.onnx`, embedder, false);
  }
  place(`ocr/${OCR_MODEL}/detection/model.onnx`, fixture("models", "ppocr_v3_en_det.onnx"), false);
  place(`ocr/${OCR_MODEL}/recognition/model.onnx`, ocrAsset("ch_PP-OCRv4_rec_infer.onnx"), false);
  place(`ocr/${OCR_MODEL}/recognition/dict.txt`, ocrAsset("ppocr_keys_v1.txt"), false);
  return { folder, models, floorFolder };
}
