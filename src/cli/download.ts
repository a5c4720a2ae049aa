/**
 * `immich-ml download <model>… [--task …] [--type …] [--cache <dir>]`: fetches models into the cache folder ahead of
 * their first request, through the same model store and the same source each model class fetches
 * from (the Hub, RapidOCR's registry, …), so the layout, `.partial` + rename and checksums are the
 * service's own. Every name and type is checked before anything downloads.
 */
import { resolve } from "node:path";
import { loadSettings, type Settings } from "../config/settings.ts";
import { setLogLevel } from "../log.ts";
import type { ModelIdentity } from "../models/identity.ts";
import { isModelTask, TASK_TYPES } from "../tasks/catalog.ts";
import { ModelStore, type ModelSource } from "../models/model-store.ts";
import type { InferenceModel, ModelContext } from "../models/inference-model.ts";
import { WorkerPool } from "../runtime/worker-pool.ts";
import { TASK_KERNELS } from "../tasks/kernels.ts";
import { InferenceThreads } from "../runtime/onnx-session.ts";
import { createModel } from "../tasks/model-factory.ts";
import { UnknownModelError } from "../models/registry.ts";
import { UsageError, type Invocation } from "./args.ts";
import { findModel } from "./model-catalog.ts";
import { DownloadProgress } from "./download-progress.ts";
import { formatBytes } from "./format-bytes.ts";

/**
 * The context the service gives its models (see service.ts), with no worker threads: a model
 * instance is only asked where its files come from, nothing is loaded or run.
 */
function modelContext(settings: Settings, store: ModelStore): ModelContext {
  const session = {
    inferenceThreads: settings.inferenceThreads,
    intraOpThreads: settings.intraOpThreads,
    interOpThreads: settings.interOpThreads,
    arena: settings.modelArena,
    deviceId: settings.deviceId,
  };
  return { settings, store, pool: new WorkerPool(0, TASK_KERNELS), session, inference: new InferenceThreads() };
}

/**
 * The source the model class fetches from. `InferenceModel.source()` is protected; it is read here
 * so that this command can never fetch from somewhere the service would not.
 */
function sourceOf(model: InferenceModel): ModelSource {
  return (model as unknown as { source(): ModelSource }).source();
}

function servable(identity: ModelIdentity, name: string, context: ModelContext): InferenceModel | undefined {
  try {
    return createModel(identity, name, context);
  } catch (error) {
    if (error instanceof UnknownModelError) return undefined;
    throw error;
  }
}

/** Every (model, type) to fetch, or a UsageError naming the first name, task or type that is wrong. */
function plan(invocation: Invocation, context: ModelContext): InferenceModel[] {
  const { task, type } = invocation;
  if (task !== undefined && !isModelTask(task)) {
    throw new UsageError(`unknown task '${task}' (expected ${Object.keys(TASK_TYPES).join(", ")})`);
  }
  const models: InferenceModel[] = [];
  for (const name of invocation.names) {
    const entry = findModel(name);
    if (!entry) throw new UsageError(`unknown model '${name}' (immich-ml models lists the supported names)`);
    if (task !== undefined && task !== entry.task) throw new UsageError(`'${name}' is a ${entry.task} model, not ${task}`);
    const types = TASK_TYPES[entry.task];
    if (type !== undefined) {
      const chosen = types.find((t) => t === type);
      const model = chosen && servable({ task: entry.task, type: chosen }, name, context);
      if (!model) throw new UsageError(`'${name}' has no type '${type}' (expected ${types.join(" or ")})`);
      models.push(model);
    } else {
      const served = types.flatMap((t) => servable({ task: entry.task, type: t }, name, context) ?? []);
      if (served.length === 0) throw new UsageError(`'${name}' is not served by this build`);
      models.push(...served);
    }
  }
  return models;
}

export async function downloadModels(invocation: Invocation): Promise<number> {
  const loaded = loadSettings();
  // --cache fills a folder to copy to an air-gapped machine (docs/INSTALL.md) without touching this one's cache.
  const settings = invocation.cacheFolder === undefined ? loaded : { ...loaded, cacheFolder: resolve(invocation.cacheFolder) };
  setLogLevel(settings.logLevel);
  const store = new ModelStore({ cacheFolder: settings.cacheFolder, revision: settings.modelRevision, offline: settings.hf.offline });
  for (const model of plan(invocation, modelContext(settings, store))) {
    const { identity, name } = model;
    const source = sourceOf(model);
    const label = `${identity.task}/${name} ${identity.type}`;
    const dir = store.directory(identity.task, name);
    if (store.isCached(identity, name, source)) {
      console.log(`${label}: already cached in ${dir}`);
      continue;
    }
    const progress = new DownloadProgress(label, dir);
    let totals;
    try {
      await store.ensure(identity, name, source);
    } finally {
      totals = progress.stop();
    }
    const rate = formatBytes(totals.bytes / Math.max(totals.seconds, 0.001));
    console.log(`${label}: ${formatBytes(totals.bytes)} in ${totals.seconds.toFixed(1)} s (${rate}/s) to ${dir}`);
  }
  return 0;
}
