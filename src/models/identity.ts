/** What a model is, in upstream's vocabulary: the task it serves and its role in that task. */
export const MODEL_TASKS = ["clip", "facial-recognition", "ocr"] as const;
export type ModelTask = (typeof MODEL_TASKS)[number];

export const MODEL_TYPES = ["visual", "textual", "detection", "recognition"] as const;
export type ModelType = (typeof MODEL_TYPES)[number];

export interface ModelIdentity {
  readonly task: ModelTask;
  readonly type: ModelType;
}

/** The (task, type) pairs a request may name. */
export const TASK_TYPES: Record<ModelTask, readonly ModelType[]> = {
  clip: ["visual", "textual"],
  "facial-recognition": ["detection", "recognition"],
  ocr: ["detection", "recognition"],
};

export function isModelTask(value: string): value is ModelTask {
  return (MODEL_TASKS as readonly string[]).includes(value);
}

export function isModelType(value: string): value is ModelType {
  return (MODEL_TYPES as readonly string[]).includes(value);
}

export function identityKey(identity: ModelIdentity): string {
  return `${identity.task}/${identity.type}`;
}
