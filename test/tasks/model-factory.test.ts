/** Every registered name resolves to a model class for exactly the task its family serves. */
import { describe, expect, test } from "bun:test";
import { registeredModels } from "../../src/models/registry.ts";
import { TASK_TYPES, MODEL_TASKS } from "../../src/models/identity.ts";
import { dependenciesOf, UnknownModelError } from "../../src/tasks/model-factory.ts";

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
