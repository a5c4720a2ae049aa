/**
 * Assembles the process: settings → model store → worker pool → model cache → HTTP app.
 * Preloaded models are loaded before the server accepts requests.
 */
import { log } from "./log.ts";
import type { Settings } from "./config/settings.ts";
import { ModelStore } from "./models/model-store.ts";
import { ModelCache } from "./models/model-cache.ts";
import type { ModelContext } from "./models/inference-model.ts";
import type { ModelTask, ModelType } from "./models/identity.ts";
import { WorkerPool } from "./runtime/worker-pool.ts";
import { availableProviders, type SessionSettings } from "./runtime/onnx-session.ts";
import { releaseFreedMemory } from "./runtime/allocator.ts";
import { createModel, dependenciesOf } from "./tasks/model-factory.ts";
import type { DependencyLookup } from "./pipeline/predict.ts";
import type { AdmissionGate } from "./http/admission.ts";
import { VERSION } from "./version.ts";
import { Metrics } from "./http/metrics.ts";

export interface Service {
  readonly settings: Settings;
  readonly store: ModelStore;
  readonly pool: WorkerPool;
  readonly cache: ModelCache;
  readonly metrics: Metrics;
  readonly dependenciesOf: DependencyLookup;
  gate: AdmissionGate | undefined;
  health(): Record<string, unknown>;
  close(): Promise<void>;
}

/** Upstream's preload order: clip textual, clip visual, face detection, face recognition, OCR. */
const PRELOAD_ORDER: Array<[ModelTask, ModelType]> = [
  ["clip", "textual"], ["clip", "visual"], ["facial-recognition", "detection"],
  ["facial-recognition", "recognition"], ["ocr", "detection"], ["ocr", "recognition"],
];

export function createService(settings: Settings): Service {
  const metrics = new Metrics();
  const store = new ModelStore({
    cacheFolder: settings.cacheFolder,
    revision: settings.modelRevision,
    offline: settings.hf.offline,
    onDownload: (model, outcome) => metrics.downloads.inc({ model, outcome }),
  });
  const pool = new WorkerPool(settings.requestThreads);
  const session: SessionSettings = {
    intraOpThreads: settings.intraOpThreads,
    interOpThreads: settings.interOpThreads,
    arena: settings.modelArena,
    deviceId: settings.deviceId,
  };
  const context: ModelContext = { settings, store, pool, session };
  const cache = new ModelCache((identity, name) => createModel(identity, name, context), {
    ttlSeconds: settings.modelTtl,
    sweepSeconds: settings.modelTtlPollS,
    afterEviction: releaseFreedMemory,
  });
  const started = Date.now();
  const service: Service = {
    settings,
    store,
    pool,
    cache,
    metrics,
    dependenciesOf: (entry) => dependenciesOf(entry, entry.modelName),
    gate: undefined,
    health: () => ({
      status: "ok",
      version: VERSION,
      uptimeSeconds: Math.round((Date.now() - started) / 1000),
      providers: availableProviders(),
      loadedModels: cache.loaded(),
      inFlight: service.gate?.inFlight ?? 0,
      queued: service.gate?.queueDepth ?? 0,
      workerThreads: pool.size,
      rssBytes: process.memoryUsage.rss(),
    }),
    close: async () => {
      await cache.close();
      await pool.close();
    },
  };
  return service;
}

export async function preloadModels(service: Service): Promise<void> {
  for (const [task, type] of PRELOAD_ORDER) {
    for (const name of service.settings.preload[task]?.[type] ?? []) {
      log.info(`Preloading ${task} ${type} model '${name}'`);
      await service.cache.preload({ task, type }, name);
    }
  }
  releaseFreedMemory();
}
