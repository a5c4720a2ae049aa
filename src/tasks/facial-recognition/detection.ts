/**
 * Face detection (`facial-recognition`/`detection`): insightface's SCRFD as upstream runs it —
 * 640x640 letterbox unless the model fixes its own input size, `minScore` per request (default 0.7).
 * Alone, it answers upstream's raw detector dict; as a dependency it hands its detections on.
 */
import type { ModelInputs, ModelOptions, Payload } from "../../models/inference-model.ts";
import { minScoreOption } from "../../models/model-options.ts";
import { OnnxModel, type OnnxLoaded } from "../../models/onnx-model.ts";
import { recycleTensor } from "../../runtime/tensor-pool.ts";
import type { ResponseShape } from "../response-values.ts";
import type { FaceDetections } from "./scrfd.ts";

const DEFAULT_INPUT_SIZE = 640;
const DEFAULT_MIN_SCORE = 0.7;

/** Upstream's raw detector dict: per face its box (x1 y1 x2 y2), score and five landmarks (x, y). */
export interface FaceDetectorResponse {
  readonly boxes: Float32Array[];
  readonly scores: Float32Array;
  readonly landmarks: Float32Array[][];
}

/** Detections plus how the HTTP layer prints them when detection is the task's last model. */
export class DetectedFaces implements ResponseShape<FaceDetectorResponse> {
  constructor(readonly detections: FaceDetections) {}

  get count(): number {
    return this.detections.scores.length;
  }

  toResponse(): FaceDetectorResponse {
    const { boxes, scores, landmarks } = this.detections;
    return {
      boxes: Array.from({ length: this.count }, (_, i) => boxes.slice(i * 4, i * 4 + 4)),
      scores,
      landmarks: Array.from({ length: this.count }, (_, i) => Array.from({ length: 5 }, (_, p) => landmarks.slice(i * 10 + p * 2, i * 10 + p * 2 + 2))),
    };
  }
}

interface FaceDetectionLoaded extends OnnxLoaded {
  /** The letterbox side the detector runs at. */
  readonly inputSize: number;
}

export class FaceDetectionModel extends OnnxModel<DetectedFaces, ModelInputs, FaceDetectionLoaded> {
  readonly identity = { task: "facial-recognition", type: "detection" } as const;
  protected override readonly layoutProbe = [1, 3, DEFAULT_INPUT_SIZE, DEFAULT_INPUT_SIZE];

  protected async loadFrom(modelDir: string): Promise<FaceDetectionLoaded> {
    const session = await this.openSession(modelDir);
    // insightface keeps a model's own static input size; Immich's detectors are dynamic → 640.
    const side = session.inputs[0]?.shape[2];
    return { session, inputSize: typeof side === "number" && side > 0 ? side : DEFAULT_INPUT_SIZE };
  }

  async predict(payload: Payload, options: ModelOptions): Promise<DetectedFaces> {
    const image = this.requireImage(payload);
    const minScore = minScoreOption(options, DEFAULT_MIN_SCORE);
    const { session, inputSize } = this.loaded;
    const { pool } = this.context;
    const { tensor, scale } = await pool.run("faces.detectionInput", { image, inputSize });
    const outputs = await session.run({
      [session.inputs[0]!.name]: { type: "float32", data: tensor, dims: [1, 3, inputSize, inputSize] },
    });
    recycleTensor(tensor);
    const detections = await pool.run(
      "faces.decode",
      { outputs: outputs.map((o) => ({ dims: [...o.dims], data: o.data })), inputSize, scale, minScore },
      outputs.map((o) => o.data.buffer as ArrayBuffer),
    );
    return new DetectedFaces(detections);
  }
}
