/**
 * What a task is, in one object: its name and model types, the classes serving each family, the
 * order its types preload in and its share of /predict's response schema. Each
 * `tasks/<task>/index.ts` exports one; `tasks/catalog.ts` lists them and everything that used to
 * restate the task list (identity, settings keys, preload order, model factory, OpenAPI) is derived.
 */
import { type Static, type TArray, type TNumber, type TSchema, Type } from "@sinclair/typebox";
import type { InferenceModel, ModelContext, ModelInputs } from "../models/inference-model.ts";
import type { ModelType } from "../models/identity.ts";
import type { ModelFamily } from "../models/registry.ts";
import type { Embedding, Float32Value } from "./response-values.ts";

/** A model class producing `Output` from the `Inputs` its `depends` names. */
export type ModelClass<Output = unknown, Inputs extends ModelInputs = ModelInputs> = (new (
  name: string,
  context: ModelContext,
) => InferenceModel<Output, Inputs>) & {
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
  response: ResponseSchema;
}

/** A response schema for a given embedding schema (a `responseOf` builder). */
export type ResponseSchema = (embedding: TSchema) => TSchema;

/**
 * The classes of a task whose recogniser consumes its detector's output (`Handed`), by family.
 * A request may pair models of different families (a PP-OCR detector with a Tesseract
 * recogniser), so every detector of the task must produce `Handed` and every recogniser accept it:
 * a class that produces or expects anything else fails tsc here, not a request.
 */
export type DetectorRecognizerClasses<Handed> = Partial<
  Record<ModelFamily, { detection: ModelClass<Handed>; recognition: ModelClass<unknown, { readonly detection: Handed }> }>
>;

/**
 * A detector-then-recogniser task (faces, OCR): both types, detector preloaded first. Its response
 * is the recogniser's output, or the detector's own (`toResponse`) when detection is requested alone.
 */
export function detectorRecognizerTask<Task extends string, Handed>(
  task: Task,
  families: DetectorRecognizerClasses<Handed>,
  responses: { recognition: ResponseSchema; detection: ResponseSchema },
): TaskDescriptor<Task, "detection" | "recognition"> {
  const response = (embedding: TSchema) =>
    Type.Union([responses.recognition(embedding), responses.detection(embedding)], {
      description: "The recognition output; the detector's raw output when detection is requested alone.",
    });
  return { task, types: ["detection", "recognition"], preloadOrder: ["detection", "recognition"], families, response };
}

/** A task output as MessagePack carries it (http/encode-response.ts's `toPlain`): the value wrappers as plain numbers. */
type Plain<T> = T extends Embedding | Float32Array
  ? number[]
  : T extends Float32Value
    ? number
    : T extends string | number | boolean
      ? T
      : T extends readonly (infer Item)[]
        ? Plain<Item>[]
        : { [K in keyof T]: Plain<T[K]> };

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;

/**
 * A task's response schema, checked by tsc against what its last model returns (`Output`): the
 * builder's schema, given the MessagePack embedding schema, must describe exactly `Plain<Output>`,
 * or the result is an error message that no descriptor's `response` accepts. JSON differs only in
 * the embedding schema the builder is handed at run time (a string).
 */
export function responseOf<Output>() {
  return <S extends TSchema>(
    build: (embedding: TArray<TNumber>) => S,
  ): Same<Static<S>, Plain<Output>> extends true ? ResponseSchema : "the response schema does not describe the task's output" =>
    // The check is on the types above; at run time the builder is the schema function as it is.
    build as never;
}
