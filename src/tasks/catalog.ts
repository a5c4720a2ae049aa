/**
 * The tasks this service serves: the one list a new task is added to. Everything that names tasks,
 * types or families (request validation, settings keys, preload order, the model factory, the
 * CLI's catalog, the OpenAPI schema, routing) derives from it.
 */
import type { ModelIdentity, ModelTask, ModelType } from "../models/identity.ts";
import type { ModelFamily } from "../models/registry.ts";
import { clipTask } from "./clip/index.ts";
import { facialRecognitionTask } from "./facial-recognition/index.ts";
import { ocrTask } from "./ocr/index.ts";
import type { ModelClass, TaskDescriptor } from "./task-descriptor.ts";

/** In upstream's preload order: tasks in this order, types in each task's `preloadOrder`. */
export const TASKS = [clipTask, facialRecognitionTask, ocrTask] as const;

const descriptors: readonly TaskDescriptor<ModelTask, ModelType>[] = TASKS;

export const MODEL_TASKS: readonly ModelTask[] = descriptors.map((descriptor) => descriptor.task);

/** The (task, type) pairs a request may name. */
export const TASK_TYPES = Object.fromEntries(descriptors.map((descriptor) => [descriptor.task, descriptor.types])) as Record<ModelTask, readonly ModelType[]>;

const MODEL_TYPES = new Set<string>(descriptors.flatMap((descriptor) => descriptor.types));

export function isModelTask(value: string): value is ModelTask {
  return (MODEL_TASKS as readonly string[]).includes(value);
}

export function isModelType(value: string): value is ModelType {
  return MODEL_TYPES.has(value);
}

/** Every (task, type) in upstream's preload order. */
export const PRELOAD_ORDER: readonly ModelIdentity[] = descriptors.flatMap(({ task, preloadOrder }) => preloadOrder.map((type) => ({ task, type })));

/** The task a family serves, or undefined for a family no task lists. */
export function familyTask(family: ModelFamily): ModelTask | undefined {
  return descriptors.find((descriptor) => descriptor.families[family])?.task;
}

/** The class serving `identity` for a family, or undefined when the family does not serve that task. */
export function familyClass(family: ModelFamily, identity: ModelIdentity): ModelClass | undefined {
  const descriptor = descriptors.find((candidate) => candidate.task === identity.task);
  return descriptor?.families[family]?.[identity.type];
}

/** A task's name in environment keys (`PRELOAD__FACIAL_RECOGNITION__DETECTION`), lower-cased as settings reads them. */
export function settingsKey(task: ModelTask): string {
  return task.replaceAll("-", "_");
}
