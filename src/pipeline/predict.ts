/**
 * One /predict request. Every entry starts at once; an entry whose model consumes another type's
 * output (face recognition needs face detection, OCR recognition needs OCR detection, as each model
 * class declares) waits for that entry of the same request, and the request is refused with
 * upstream's 400 if it does not contain it. The response is shaped like upstream's: one key per task holding
 * the output of the task's last model, plus `imageHeight`/`imageWidth` when the payload was an image.
 */
import type { ModelCache } from "../models/model-cache.ts";
import type { ModelType } from "../models/identity.ts";
import type { Payload } from "../models/inference-model.ts";
import type { PipelineEntry } from "./entries.ts";
import { RequestError } from "./request-error.ts";
import { throwIfAbandoned } from "../runtime/request-scope.ts";

export type PredictResponse = Record<string, unknown>;

/** Names the model types whose outputs an entry's model consumes (throws for unknown models). */
export type DependencyLookup = (entry: PipelineEntry) => readonly ModelType[];

/** Receives each model's predict time (for metrics). */
export type InferenceObserver = (entry: PipelineEntry, seconds: number) => void;

/** Runs a request's entries here and shapes the response. */
export type PipelineRun = (entries: readonly PipelineEntry[]) => Promise<PredictResponse>;

/** Wraps a request's run, to run it again differently when it fails (`tasks/ocr/engine-fallback.ts`). */
export type PipelineFallback = (entries: readonly PipelineEntry[], run: PipelineRun) => Promise<PredictResponse>;

export async function runPipeline(
  cache: ModelCache,
  dependenciesOf: DependencyLookup,
  entries: readonly PipelineEntry[],
  payload: Payload,
  observe: InferenceObserver = () => {},
): Promise<PredictResponse> {
  const response: PredictResponse = {};
  const pending = new Map<string, Promise<unknown>>();
  const key = (task: string, type: string) => `${task}/${type}`;

  // Checked before anything loads, as upstream does: a request cannot trigger a download it cannot use.
  const requested = new Set(entries.map((entry) => key(entry.task, entry.type)));
  const dependencies = new Map<PipelineEntry, readonly ModelType[]>();
  for (const entry of entries) {
    const needed = dependenciesOf(entry);
    for (const dependency of needed) {
      if (!requested.has(key(entry.task, dependency))) {
        throw new RequestError(400, `Task ${entry.task} of type ${entry.type} depends on output of (${dependency}, ${entry.task})`);
      }
    }
    dependencies.set(entry, needed);
  }

  const runEntry = (entry: PipelineEntry): Promise<unknown> =>
    cache.with(entry, entry.modelName, async (model) => {
      // Each input is the output of the model this request names for that type: the model factory's
      // tables make sure every model of that type produces what this one consumes.
      const inputs: Partial<Record<ModelType, unknown>> = {};
      for (const dependency of dependencies.get(entry)!) inputs[dependency] = await pending.get(key(entry.task, dependency));
      // A request that timed out while this entry waited (for its model or its dependency) needs nothing more.
      throwIfAbandoned();
      const started = performance.now();
      const output = await model.predict(payload, entry.options, inputs);
      observe(entry, (performance.now() - started) / 1000);
      response[entry.task] = output;
      return output;
    });

  // Registered synchronously before any entry can look its dependencies up.
  for (const entry of entries) pending.set(key(entry.task, entry.type), runEntry(entry));
  // A failed dependency fails its dependants too; report the first failure once all have settled.
  const results = await Promise.allSettled(pending.values());
  const failure = results.find((result) => result.status === "rejected");
  if (failure) throw (failure as PromiseRejectedResult).reason;

  if (payload.kind === "image") {
    response.imageHeight = payload.image.height;
    response.imageWidth = payload.image.width;
  }
  return response;
}
