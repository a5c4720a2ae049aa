/**
 * OCR text detection (`ocr`/`detection`): the PP-OCR DB detector. Language packs share the
 * detector of their base name (`EN__PP-OCRv5_mobile` uses `PP-OCRv5_mobile`'s), as upstream does.
 * Options: `minScore` (box threshold, default 0.5), `maxResolution` (default 736), `scoreMode`.
 */
import { InvalidInputError, type ModelContext, type ModelInputs, type ModelOptions, type Payload } from "../../models/inference-model.ts";
import type { ModelSource } from "../../models/model-store.ts";
import { OnnxModel, type OnnxLoaded } from "../../models/onnx-model.ts";
import { minScoreOption } from "../../models/model-options.ts";
import type { ResponseShape } from "../response-values.ts";
import { recycleTensor } from "../../runtime/tensor-pool.ts";
import type { DbBoxes } from "./db-postprocess.ts";
import { detectionSize, MIN_SIDE } from "./det-preprocess.ts";
import type { RgbImage } from "../../imaging/rgb-image.ts";
import { parseOcrName, rapidOcrSource } from "./rapidocr-source.ts";

/** Upstream's raw detector dict: per text box its four corners (x, y) and its score. */
export interface TextDetectorResponse {
  readonly boxes: Float32Array[][];
  readonly scores: Float32Array;
}

/** Detected text boxes; printed as upstream's raw detector dict when detection runs alone. */
export class DetectedText implements ResponseShape<TextDetectorResponse> {
  constructor(readonly result: DbBoxes) {}

  get count(): number {
    return this.result.scores.length;
  }

  toResponse(): TextDetectorResponse {
    const { boxes, scores } = this.result;
    return {
      boxes: Array.from({ length: this.count }, (_, i) => Array.from({ length: 4 }, (_, p) => boxes.slice(i * 8 + p * 2, i * 8 + p * 2 + 2))),
      scores,
    };
  }
}

/** Upstream's default `maxResolution`. */
const DEFAULT_MAX_RESOLUTION = 736;
/** The detector's input for a 1440x1080 preview (the Immich server's size for a 4:3 photo) at the default resolution. */
const TYPICAL_INPUT = detectionSize(1440, 1080, DEFAULT_MAX_RESOLUTION);

const EMPTY = new DetectedText({ boxes: new Float32Array(0), scores: new Float32Array(0) });

function maxResolutionOption(options: ModelOptions): number {
  const value = options.maxResolution ?? DEFAULT_MAX_RESOLUTION;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1) {
    throw new InvalidInputError(`maxResolution must be an integer >= 1, got ${JSON.stringify(value)}`);
  }
  return value;
}

/**
 * Largest detector input, in pixels. The input keeps the image's aspect ratio with its short side
 * at `maxResolution`, so an extreme panorama makes it huge, and the detector's memory grows with
 * it (a 50000x1000 image: a 36800x736 input, 3.6 GiB at peak). Every image the Immich server sends
 * (previews, a few thousand pixels per side) stays far below; larger ones are refused, not cut,
 * so that every answer given is upstream's.
 */
export const MAX_DETECTOR_PIXELS = 4 * 1024 * 1024;

/** Refuses (400) what upstream fails on or what would exceed the memory bound, before any work. */
export function checkDetectorInput(image: RgbImage, maxResolution: number): void {
  // Smaller images are answered with no text without being resized, as upstream does.
  if (image.width < MIN_SIDE || image.height < MIN_SIDE) return;
  let size: { width: number; height: number };
  try {
    size = detectionSize(image.width, image.height, maxResolution);
  } catch {
    throw new InvalidInputError(`maxResolution ${maxResolution} shrinks the ${image.width}x${image.height} image to nothing (at least 17 is needed)`);
  }
  if (size.width * size.height > MAX_DETECTOR_PIXELS) {
    throw new InvalidInputError(
      `Image ${image.width}x${image.height} is too elongated for OCR: its detector input would be ${size.width}x${size.height}, more than ${MAX_DETECTOR_PIXELS} pixels`,
    );
  }
}

function scoreModeOption(options: ModelOptions): "fast" | "slow" {
  const value = options.scoreMode ?? "fast";
  if (value !== "fast" && value !== "slow") throw new InvalidInputError(`scoreMode must be "fast" or "slow", got ${JSON.stringify(value)}`);
  return value;
}

export class OcrDetectionModel extends OnnxModel<DetectedText, ModelInputs, OnnxLoaded> {
  readonly identity = { task: "ocr", type: "detection" } as const;
  protected override readonly layoutProbe = [1, 3, TYPICAL_INPUT.height, TYPICAL_INPUT.width];

  constructor(name: string, context: ModelContext) {
    super(parseOcrName(name).base, context);
  }

  protected override source(): ModelSource {
    return rapidOcrSource(this.context.settings.ocrModelUrl, this.name, this.context.settings.network);
  }

  protected async loadFrom(modelDir: string): Promise<OnnxLoaded> {
    return { session: await this.openSession(modelDir) };
  }

  async predict(payload: Payload, options: ModelOptions): Promise<DetectedText> {
    const image = this.requireImage(payload);
    const boxThresh = minScoreOption(options, 0.5);
    const maxResolution = maxResolutionOption(options);
    const scoreMode = scoreModeOption(options);
    checkDetectorInput(image, maxResolution);
    const { pool } = this.context;
    const input = await pool.run("ocr.detectionInput", { image, maxResolution });
    if (!input) return EMPTY;
    const { session } = this.loaded;
    const [pred] = await session.run({
      [session.inputs[0]!.name]: { type: "float32", data: input.tensor, dims: [1, 3, input.height, input.width] },
    });
    recycleTensor(input.tensor);
    const result = await pool.run(
      "ocr.postprocess",
      { pred: pred!.data, width: input.width, height: input.height, imageWidth: image.width, imageHeight: image.height, options: { boxThresh, scoreMode } },
      [pred!.data.buffer as ArrayBuffer],
    );
    return new DetectedText(result);
  }
}
