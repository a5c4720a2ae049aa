/**
 * OCR detection for tesseract (`ocr`/`detection`, model `tesseract` or `tesseract__<lang>`).
 *
 * Tesseract finds its text lines itself, inside recognition, so this stage does no work: its output
 * is the whole image as one region (score 1). It exists so that the request the Immich server sends
 * (a detection and a recognition entry naming the same model) is served unchanged. The pair, rather
 * than a recognition model with no dependency, because the response holds the output of the task's
 * last model: recognition depending on detection is what makes it last, so the answer is its lines.
 * It is available when the model's language data is (fetched here too if it is not yet), so that
 * both stages of a tesseract model fail or succeed together.
 */
import { InferenceModel, type ModelInputs, type Payload } from "../../../models/inference-model.ts";
import type { ModelSource } from "../../../models/model-store.ts";
import { DetectedText } from "../detection.ts";
import { tessdataSource, tesseractLanguage } from "./tessdata-source.ts";

export class TesseractDetectionModel extends InferenceModel<DetectedText, ModelInputs, true> {
  readonly identity = { task: "ocr", type: "detection" } as const;

  protected override source(): ModelSource {
    return tessdataSource(this.context.settings.tessdataUrl, tesseractLanguage(this.name), this.context.settings.network);
  }

  /** The whole-image region needs nothing from the language data: loaded is all there is to know. */
  protected async loadFrom(): Promise<true> {
    return true;
  }

  async predict(payload: Payload): Promise<DetectedText> {
    const { width, height } = this.requireImage(payload);
    const [right, bottom] = [width - 1, height - 1];
    return new DetectedText({ boxes: Float32Array.of(0, 0, right, 0, right, bottom, 0, bottom), scores: Float32Array.of(1) });
  }

  protected async release(): Promise<void> {}
}
