/** The registry's models grouped by the task they serve, as `models` lists and `download` resolves them. */
import type { ModelTask } from "../models/identity.ts";
import { lookupModel, registeredModels, type RegisteredModel } from "../models/registry.ts";
import { familyTask, MODEL_TASKS } from "../tasks/catalog.ts";

export interface CatalogEntry extends RegisteredModel {
  readonly task: ModelTask;
}

/** A registered model with its task; undefined for names outside the registry or a family no task serves. */
function withTask(model: RegisteredModel): CatalogEntry | undefined {
  const task = familyTask(model.family);
  return task && { ...model, task };
}

export function findModel(name: string): CatalogEntry | undefined {
  const model = lookupModel(name);
  return model && withTask(model);
}

/** Every task with its models, smallest embedding first, then by name. */
export function catalog(): Array<[ModelTask, CatalogEntry[]]> {
  const entries = registeredModels().flatMap((model) => withTask(model) ?? []);
  return MODEL_TASKS.map((task) => [
    task,
    entries.filter((entry) => entry.task === task).sort((a, b) => (a.dimensions ?? 0) - (b.dimensions ?? 0) || a.name.localeCompare(b.name)),
  ]);
}
