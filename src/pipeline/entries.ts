/**
 * Parses the `entries` form field: `{task: {type: {modelName, options?}}}`. Malformed JSON or
 * shapes get upstream's 422 `Invalid request format.`; task/type names outside upstream's enums
 * get a 400 naming them (upstream fails those with a bare 500).
 */
import type { ModelTask, ModelType } from "../models/identity.ts";
import { isModelTask, isModelType, TASK_TYPES } from "../tasks/catalog.ts";
import { RequestError } from "./request-error.ts";
import { excerpt } from "../client-text.ts";

export interface PipelineEntry {
  readonly task: ModelTask;
  readonly type: ModelType;
  readonly modelName: string;
  readonly options: Readonly<Record<string, unknown>>;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

const invalidFormat = () => new RequestError(422, "Invalid request format.");

export function parseEntries(text: string): PipelineEntry[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw invalidFormat();
  }
  if (!isPlainObject(parsed)) throw invalidFormat();
  const entries: PipelineEntry[] = [];
  for (const [task, types] of Object.entries(parsed)) {
    if (!isPlainObject(types)) throw invalidFormat();
    for (const [type, entry] of Object.entries(types)) {
      if (!isPlainObject(entry) || typeof entry.modelName !== "string") throw invalidFormat();
      const options = entry.options ?? {};
      if (!isPlainObject(options)) throw invalidFormat();
      if (!isModelTask(task)) throw new RequestError(400, `Unknown task '${excerpt(task)}'`);
      if (!isModelType(type) || !TASK_TYPES[task].includes(type)) {
        throw new RequestError(400, `Unknown model type '${excerpt(type)}' for task '${task}'`);
      }
      entries.push({ task, type, modelName: entry.modelName, options });
    }
  }
  if (entries.length === 0) throw new RequestError(422, "No model task requested.");
  return entries;
}
