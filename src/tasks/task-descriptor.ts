/**
 * What a task is, in one object: its name and model types, the classes serving each family, the
 * order its types preload in and its share of /predict's response schema. Each
 * `tasks/<task>/index.ts` exports one; `tasks/catalog.ts` lists them and everything that used to
 * restate the task list (identity, settings keys, preload order, model factory, OpenAPI) is derived.
 */
import type { TSchema } from "@sinclair/typebox";
import type { InferenceModel, ModelContext, ModelInputs } from "../models/inference-model.ts";
import type { ModelType } from "../models/identity.ts";
import type { ModelFamily } from "../models/registry.ts";

/** A model class producing `Output` from the `Inputs` its `depends` names. */
export type ModelClass<Output = unknown, Inputs extends ModelInputs = ModelInputs> = (new (name: string, context: ModelContext) => InferenceModel<Output, Inputs>) & {
  readonly depends: readonly ModelType[];
};

export interface TaskDescriptor<Task extends string = string, Type extends string = string> {
  readonly task: Task;
  /** The types a request may name under this task, in the order `usage` and `download` list them. */
  readonly types: readonly Type[];
  /** Upstream's preload order within the task (tasks preload in catalog order). */
  readonly preloadOrder: readonly Type[];
  /** The classes serving each model family of the task, by type. */
  readonly families: Partial<Record<ModelFamily, Partial<Record<Type, ModelClass>>>>;
  /** The task's value in /predict's response; `embedding` differs between JSON and MessagePack. */
  response(embedding: TSchema): TSchema;
}

/**
 * The classes of a task whose recogniser consumes its detector's output (`Handed`), by family.
 * A request may pair models of different families (a PP-OCR detector with a Tesseract
 * recogniser), so every detector of the task must produce `Handed` and every recogniser accept it:
 * a class that produces or expects anything else fails tsc here, not a request.
 */
export type DetectorRecognizerClasses<Handed> = Partial<
  Record<ModelFamily, { detection: ModelClass<Handed>; recognition: ModelClass<unknown, { readonly detection: Handed }> }>
>;

/** A detector-then-recogniser task (faces, OCR): both types, detector preloaded first. */
export function detectorRecognizerTask<Task extends string, Handed>(
  task: Task,
  families: DetectorRecognizerClasses<Handed>,
  response: (embedding: TSchema) => TSchema,
): TaskDescriptor<Task, "detection" | "recognition"> {
  return { task, types: ["detection", "recognition"], preloadOrder: ["detection", "recognition"], families, response };
}
