/**
 * Face recognition (`facial-recognition`/`recognition`): every detected face aligned to the ArcFace
 * template (worker thread), embedded in batches of `MAX_BATCH_SIZE__FACIAL_RECOGNITION` (unset: all
 * faces in one run; a model whose batch axis is fixed to 1 gets one face per run — the file on disk
 * is left as it is). Embeddings are raw (not normalised), zipped with the detector's box and score.
 */
import { InferenceModel, type Payload } from "../../models/inference-model.ts";
import { modelFilePath } from "../../models/cache-layout.ts";
import type { ModelType } from "../../models/identity.ts";
import { OnnxSession } from "../../runtime/onnx-session.ts";
import { Embedding, Float32Value } from "../response-values.ts";
import type { DetectedFaces } from "./detection.ts";

const CROP_VALUES = 3 * 112 * 112;

export interface RecognizedFace {
  boundingBox: { x1: Float32Value; y1: Float32Value; x2: Float32Value; y2: Float32Value };
  embedding: Embedding;
  score: Float32Value;
}

export class FaceRecognitionModel extends InferenceModel<RecognizedFace[]> {
  static override readonly depends: readonly ModelType[] = ["detection"];
  readonly identity = { task: "facial-recognition", type: "recognition" } as const;
  private session: OnnxSession | undefined;
  private batchSize: number | undefined;

  protected async loadFrom(modelDir: string): Promise<void> {
    this.session = await OnnxSession.create(modelFilePath(modelDir, "recognition"), this.context.session);
    const fixedBatch = this.session.inputs[0]?.shape[0];
    const configured = this.context.settings.maxBatchSize.facialRecognition;
    this.batchSize = typeof fixedBatch === "number" ? Math.min(fixedBatch, configured ?? fixedBatch) : configured;
  }

  async predict(payload: Payload, _options: unknown, dependencies: ReadonlyMap<ModelType, unknown>): Promise<RecognizedFace[]> {
    const image = this.requireImage(payload);
    const faces = dependencies.get("detection") as DetectedFaces;
    const count = faces.count;
    if (count === 0) return [];
    const session = this.session!;
    const input = await this.context.pool.run("faces.recognitionInput", { image, landmarks: faces.detections.landmarks });
    const batch = this.batchSize ?? count;
    const embeddings: Float32Array[] = [];
    for (let start = 0; start < count; start += batch) {
      const n = Math.min(batch, count - start);
      const [output] = await session.run({
        [session.inputs[0]!.name]: { type: "float32", data: input.subarray(start * CROP_VALUES, (start + n) * CROP_VALUES), dims: [n, 3, 112, 112] },
      });
      const width = output!.data.length / n;
      for (let i = 0; i < n; i++) embeddings.push(output!.data.slice(i * width, (i + 1) * width));
    }
    const { boxes, scores } = faces.detections;
    return embeddings.map((embedding, i) => ({
      boundingBox: {
        x1: new Float32Value(boxes[i * 4]!),
        y1: new Float32Value(boxes[i * 4 + 1]!),
        x2: new Float32Value(boxes[i * 4 + 2]!),
        y2: new Float32Value(boxes[i * 4 + 3]!),
      },
      embedding: new Embedding(embedding),
      score: new Float32Value(scores[i]!),
    }));
  }

  async unload(): Promise<void> {
    await this.session?.release();
    this.session = undefined;
  }
}
