/**
 * The physical floor of each benchmark request: the onnxruntime runs the service makes for it —
 * same model files, same input tensors (made by the service's own kernels), the session options
 * the service used before its runtime moved to onnxruntime's C API (onnxruntime-node, its thread
 * counts and arena setting, no spinning) — as a list of steps to run back to back on one
 * thread, with nothing else: no HTTP, no decoding, no pre/post-processing, no thread hops.
 */
import * as ort from "onnxruntime-node";
import { readFileSync } from "node:fs";
import { join, dirname } from "node:path";
import { decodeImage } from "../src/pipeline/decode-image.ts";
import { kernels } from "../src/tasks/kernel-table.ts";
import { sessionSettingsFor, type SessionSettings } from "../src/runtime/onnx-session.ts";
import { parseClipPreprocessConfig } from "../src/tasks/clip/visual-preprocess.ts";
import { ClipTokenizer } from "../src/tasks/clip/tokenizer.ts";
import type { RgbImage } from "../src/imaging/rgb-image.ts";

export interface RunStep {
  model: string;
  feeds: Record<string, ort.Tensor>;
  /** The service opens this model's session as interactive (onnx-session.ts `sessionSettingsFor`). */
  interactive?: boolean;
}

/**
 * The runs one request costs; `units` counts what it produces (faces, text lines) for reports;
 * `images` are the files its request decodes (one per image entry), for the request floor.
 */
export interface FloorPlan {
  steps: RunStep[];
  units: number;
  images: Uint8Array[];
}

/** Sessions opened once per model file, with the service's options. */
export class RawSessions {
  private readonly sessions = new Map<string, Promise<ort.InferenceSession>>();

  constructor(private readonly settings: SessionSettings) {}

  get(model: string, interactive = false): Promise<ort.InferenceSession> {
    const key = `${model}:${interactive}`;
    let session = this.sessions.get(key);
    if (!session) {
      const settings = sessionSettingsFor(this.settings, { interactive });
      session = ort.InferenceSession.create(model, {
        intraOpNumThreads: settings.intraOpThreads,
        interOpNumThreads: settings.interOpThreads,
        executionMode: settings.interOpThreads > 1 ? "parallel" : "sequential",
        enableCpuMemArena: settings.arena,
        graphOptimizationLevel: "all",
        extra: { session: { intra_op: { allow_spinning: "0" } } },
      });
      this.sessions.set(key, session);
    }
    return session;
  }

  async run(step: RunStep): Promise<ort.InferenceSession.OnnxValueMapType> {
    return (await this.get(step.model, step.interactive)).run(step.feeds);
  }

  async runPlan(plan: FloorPlan): Promise<void> {
    for (const step of plan.steps) await this.run(step);
  }

  async close(): Promise<void> {
    for (const session of this.sessions.values()) await (await session).release();
    this.sessions.clear();
  }
}

const f32 = (data: Float32Array, dims: number[]) => new ort.Tensor("float32", data, dims);

async function decode(jpeg: Uint8Array): Promise<RgbImage> {
  return decodeImage(jpeg, { maxPixels: 100_000_000 });
}

export async function clipVisualPlan(model: string, jpeg: Uint8Array): Promise<FloorPlan> {
  const config = parseClipPreprocessConfig(JSON.parse(readFileSync(join(dirname(model), "preprocess_cfg.json"), "utf8")));
  const tensor = kernels["clip.visualInput"]({ image: await decode(jpeg), config });
  return { steps: [{ model, feeds: { image: f32(tensor, [1, 3, config.size, config.size]) } }], units: 1, images: [jpeg] };
}

export async function clipTextualPlan(model: string, text: string): Promise<FloorPlan> {
  const textual = dirname(model);
  const tokenizer = await ClipTokenizer.load(
    {
      tokenizerJson: join(textual, "tokenizer.json"),
      tokenizerConfigJson: join(textual, "tokenizer_config.json"),
      modelConfigJson: join(textual, "..", "config.json"),
    },
    "ViT-B-32__openai",
  );
  const { inputIds } = tokenizer.encode(text);
  return { steps: [{ model, feeds: { text: new ort.Tensor("int32", inputIds, [1, tokenizer.contextLength]) }, interactive: true }], units: 1, images: [] };
}

/**
 * Detector run, then the recogniser over the faces in runs of at most `maxBatch` (1 for a model
 * whose batch axis is fixed, as the service does).
 */
export async function facesPlan(
  sessions: RawSessions,
  detector: string,
  recognizer: string,
  jpeg: Uint8Array,
  minScore: number,
  maxBatch: number,
): Promise<FloorPlan> {
  const image = await decode(jpeg);
  const det = await sessions.get(detector);
  const { tensor, scale } = kernels["faces.detectionInput"]({ image, inputSize: 640 });
  const detFeeds = { [det.inputNames[0]!]: f32(tensor, [1, 3, 640, 640]) };
  const outputs = await det.run(detFeeds);
  const raw = det.outputNames.map((name) => ({ dims: [...outputs[name]!.dims], data: outputs[name]!.data as Float32Array }));
  const faces = kernels["faces.decode"]({ outputs: raw, inputSize: 640, scale, minScore });
  const crops = kernels["faces.recognitionInput"]({ image, landmarks: faces.landmarks });
  const count = faces.scores.length;
  const steps: RunStep[] = [{ model: detector, feeds: detFeeds }];
  const cropValues = 3 * 112 * 112;
  for (let start = 0; start < count; start += maxBatch) {
    const n = Math.min(maxBatch, count - start);
    steps.push({ model: recognizer, feeds: { input: f32(crops.slice(start * cropValues, (start + n) * cropValues), [n, 3, 112, 112]) } });
  }
  return { steps, units: count, images: [jpeg] };
}

/** Detector run at `maxResolution`, then the recogniser's aspect-ratio batches of `maxBatch` lines. */
export async function ocrPlan(
  sessions: RawSessions,
  detector: string,
  recognizer: string,
  jpeg: Uint8Array,
  options: { maxResolution: number; boxThresh: number; maxBatch: number },
): Promise<FloorPlan> {
  const image = await decode(jpeg);
  const input = kernels["ocr.detectionInput"]({ image, maxResolution: options.maxResolution });
  if (!input) throw new Error("the OCR benchmark image is too small for text");
  const det = await sessions.get(detector);
  const detFeeds = { [det.inputNames[0]!]: f32(input.tensor, [1, 3, input.height, input.width]) };
  const outputs = await det.run(detFeeds);
  const pred = outputs[det.outputNames[0]!]!.data as Float32Array;
  const boxes = kernels["ocr.postprocess"]({
    pred,
    width: input.width,
    height: input.height,
    imageWidth: image.width,
    imageHeight: image.height,
    options: { boxThresh: options.boxThresh, scoreMode: "fast" },
  });
  const batches = kernels["ocr.recognitionBatches"]({ image, boxes: boxes.boxes, maxBatch: options.maxBatch });
  const rec = await sessions.get(recognizer);
  const steps: RunStep[] = [{ model: detector, feeds: detFeeds }];
  for (const batch of batches) {
    steps.push({ model: recognizer, feeds: { [rec.inputNames[0]!]: f32(batch.tensor, [batch.indices.length, 3, 48, batch.width]) } });
  }
  return { steps, units: boxes.scores.length, images: [jpeg] };
}
