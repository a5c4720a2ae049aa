/** The registry's models grouped by the task they serve, as `models` lists and `download` resolves them. */
import { MODEL_TASKS, type ModelTask } from "../models/identity.ts";
import { lookupModel, registeredModels, type ModelFamily, type RegisteredModel } from "../models/registry.ts";

// As tasks/model-factory.ts maps them; a Record over every family, so a new family must be added here.
const FAMILY_TASK: Record<ModelFamily, ModelTask> = {
  openclip: "clip",
  mclip: "clip",
  insightface: "facial-recognition",
  paddle: "ocr",
  tesseract: "ocr",
};

export interface CatalogEntry extends RegisteredModel {
  readonly task: ModelTask;
}

export function findModel(name: string): CatalogEntry | undefined {
  const model = lookupModel(name);
  return model && { ...model, task: FAMILY_TASK[model.family] };
}

/** Every task with its models, smallest embedding first, then by name. */
export function catalog(): Array<[ModelTask, CatalogEntry[]]> {
  const entries = registeredModels().map((model) => ({ ...model, task: FAMILY_TASK[model.family] }));
  return MODEL_TASKS.map((task) => [
    task,
    entries
      .filter((entry) => entry.task === task)
      .sort((a, b) => (a.dimensions ?? 0) - (b.dimensions ?? 0) || a.name.localeCompare(b.name)),
  ]);
}
