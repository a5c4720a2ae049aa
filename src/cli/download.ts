/**
 * `immich-ml download <model>… [--task …] [--type …]`: fetches models into the cache folder ahead of
 * their first request, through the same model store and sources the service uses (so the same
 * layout, `.partial` + rename and SHA-256 checks). Every name is checked before anything downloads.
 */
import { loadSettings, type Settings } from "../config/settings.ts";
import { setLogLevel } from "../log.ts";
import { isModelTask, TASK_TYPES, type ModelType } from "../models/identity.ts";
import { ModelStore, type ModelSource } from "../models/model-store.ts";
import { hubSource } from "../models/hub-source.ts";
import { rapidOcrSource } from "../tasks/ocr/rapidocr-source.ts";
import { UsageError, type Invocation } from "./args.ts";
import { findModel, type CatalogEntry } from "./model-catalog.ts";
import { DownloadProgress } from "./download-progress.ts";
import { formatBytes } from "./format-bytes.ts";

interface Job {
  model: CatalogEntry;
  type: ModelType;
}

function plan(invocation: Invocation): Job[] {
  if (invocation.task !== undefined && !isModelTask(invocation.task)) {
    throw new UsageError(`unknown task '${invocation.task}' (expected ${Object.keys(TASK_TYPES).join(", ")})`);
  }
  const jobs: Job[] = [];
  for (const name of invocation.names) {
    const model = findModel(name);
    if (!model) throw new UsageError(`unknown model '${name}' (immich-ml models lists the supported names)`);
    if (invocation.task !== undefined && invocation.task !== model.task) {
      throw new UsageError(`'${name}' is a ${model.task} model, not ${invocation.task}`);
    }
    const types = TASK_TYPES[model.task];
    if (invocation.type !== undefined && !types.includes(invocation.type as ModelType)) {
      throw new UsageError(`${model.task} models have no type '${invocation.type}' (expected ${types.join(" or ")})`);
    }
    for (const type of invocation.type !== undefined ? [invocation.type as ModelType] : types) jobs.push({ model, type });
  }
  return jobs;
}

/** Where the model classes fetch from: OCR models from RapidOCR's registry, the others from the Hub. */
function sourceFor(model: CatalogEntry, settings: Settings): ModelSource {
  if (model.task === "ocr") return rapidOcrSource(settings.ocrModelUrl, model.name);
  const hub = { organization: settings.modelOrganization, revision: settings.modelRevision, endpoint: settings.hf.endpoint, token: settings.hf.token };
  return hubSource(hub, model.name);
}

export async function downloadModels(invocation: Invocation): Promise<number> {
  const jobs = plan(invocation);
  const settings = loadSettings();
  setLogLevel(settings.logLevel);
  const store = new ModelStore({ cacheFolder: settings.cacheFolder, revision: settings.modelRevision, offline: settings.hf.offline });
  for (const { model, type } of jobs) {
    const identity = { task: model.task, type };
    const label = `${model.task}/${model.name} ${type}`;
    const dir = store.directory(model.task, model.name);
    if (store.isCached(identity, model.name)) {
      console.log(`${label}: already cached in ${dir}`);
      continue;
    }
    const progress = new DownloadProgress(label, dir);
    let totals;
    try {
      await store.ensure(identity, model.name, sourceFor(model, settings));
    } finally {
      totals = progress.stop();
    }
    const rate = formatBytes(totals.bytes / Math.max(totals.seconds, 0.001));
    console.log(`${label}: ${formatBytes(totals.bytes)} in ${totals.seconds.toFixed(1)} s (${rate}/s) to ${dir}`);
  }
  return 0;
}
