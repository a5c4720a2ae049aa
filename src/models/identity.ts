/**
 * What a model is, in upstream's vocabulary: the task it serves and its role in that task. The
 * names come from the task descriptors (`tasks/catalog.ts`); imported as types only, so this
 * module loads no task code.
 */
import type { TASKS } from "../tasks/catalog.ts";

export type ModelTask = (typeof TASKS)[number]["task"];
export type ModelType = (typeof TASKS)[number]["types"][number];

export interface ModelIdentity {
  readonly task: ModelTask;
  readonly type: ModelType;
}

export function identityKey(identity: ModelIdentity): string {
  return `${identity.task}/${identity.type}`;
}
