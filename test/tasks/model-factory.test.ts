/** Every registered name resolves to a model class for exactly the task its family serves. */
import { describe, expect, test } from "bun:test";
import { registeredModels } from "../../src/models/registry.ts";
import { TASK_TYPES, MODEL_TASKS } from "../../src/tasks/catalog.ts";
import { UnknownModelError } from "../../src/models/registry.ts";
import { dependenciesOf, type ModelClass } from "../../src/tasks/model-factory.ts";
import type { DetectedFaces } from "../../src/tasks/facial-recognition/detection.ts";
import { FaceRecognitionModel } from "../../src/tasks/facial-recognition/recognition.ts";
import type { DetectedText } from "../../src/tasks/ocr/detection.ts";
import { OcrRecognitionModel } from "../../src/tasks/ocr/recognition.ts";

// Hand-offs are checked by tsc (`npm run typecheck`): each line below must keep failing to compile,
// or tsc reports the unused @ts-expect-error.
// @ts-expect-error a face recogniser cannot consume OCR detections
export const faceOnText: ModelClass<unknown, { readonly detection: DetectedText }> = FaceRecognitionModel;
// @ts-expect-error an OCR recogniser cannot consume face detections
export const textOnFaces: ModelClass<unknown, { readonly detection: DetectedFaces }> = OcrRecognitionModel;

const FAMILY_TASK: Record<string, string> = {
  openclip: "clip",
  mclip: "clip",
  insightface: "facial-recognition",
  paddle: "ocr",
  tesseract: "ocr",
};

describe("model factory", () => {
  for (const model of registeredModels()) {
    test(`${model.name} (${model.family})`, () => {
      const served = FAMILY_TASK[model.family];
      expect(served).toBeDefined();
      for (const task of MODEL_TASKS) {
        for (const type of TASK_TYPES[task]) {
          if (task === served) {
            const deps = dependenciesOf({ task, type }, model.name);
            expect(deps).toEqual(type === "recognition" ? ["detection"] : []);
          } else {
            expect(() => dependenciesOf({ task, type }, model.name)).toThrow(UnknownModelError);
          }
        }
      }
    });
  }
});
