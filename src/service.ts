/**
 * Assembles the process: settings → model store → worker pool → model cache → HTTP app.
 * Preloaded models are loaded before the server accepts requests.
 */
import { log } from "./log.ts";
import type { Settings } from "./config/settings.ts";
import { ModelStore } from "./models/model-store.ts";
import { ModelCache } from "./models/model-cache.ts";
import type { ModelContext } from "./models/inference-model.ts";
import { WorkerPool } from "./runtime/worker-pool.ts";
import { TASK_KERNELS, type TaskPool } from "./tasks/kernels.ts";
import { InferenceThreads, type SessionSettings } from "./runtime/onnx-session.ts";
import { SearchBacklog } from "./runtime/search-backlog.ts";
import { searchThreadsNiceSetter } from "./runtime/thread-priority.ts";
import { releaseFreedMemory, trimNativeHeap, type ReleaseDepth } from "./runtime/allocator.ts";
import { onStage } from "./runtime/stage-timing.ts";
import { createModel, dependenciesOf } from "./tasks/model-factory.ts";
import { PRELOAD_ORDER } from "./tasks/catalog.ts";
import type { DependencyLookup, PipelineFallback } from "./pipeline/predict.ts";
import { ocrFallback } from "./tasks/ocr/engine-fallback.ts";
import { AdmissionGate } from "./http/admission.ts";
import { VERSION } from "./version.ts";
import { Metrics } from "./http/metrics.ts";
import { Readiness } from "./http/readiness.ts";
import { TaskRouter } from "./routing/task-router.ts";
import { withoutCachePath } from "./http/error-status.ts";
import { ImageBuffers } from "./pipeline/image-buffers.ts";

export interface Service {
  readonly settings: Settings;
  readonly store: ModelStore;
  readonly pool: TaskPool;
  readonly inference: InferenceThreads;
  readonly cache: ModelCache;
  readonly metrics: Metrics;
  readonly dependenciesOf: DependencyLookup;
  /** Reruns a failed request another way (MACHINE_LEARNING_OCR_FALLBACK); undefined when none is set. */
  readonly fallback: PipelineFallback | undefined;
  /** Admission for /predict: built here so that /health reports the queue the app admits through. */
  readonly gate: AdmissionGate;
  /** Loading → ready after preloading → draining from SIGTERM (`/ready`). */
  readonly readiness: Readiness;
  /** Sends routed tasks to peers (MACHINE_LEARNING_ROUTE__*); undefined when nothing is routed. */
  readonly router: TaskRouter | undefined;
  /** Shared memory for decoded images, reused between requests. */
  readonly imageBuffers: ImageBuffers;
  health(): Record<string, unknown>;
  close(): Promise<void>;
}

/** Upstream hands freed memory back 5 s after the last request; sooner here, it is cheap when idle. */
const IDLE_RELEASE_SECONDS = 1;

/**
 * When the shared onnxruntime arena hands back what its runs left (ort-capi.ts): later than the
 * rest, because taking it back costs the next runs: the first OCR request after a trim ran its
 * detector in 140-364 ms instead of 121-137 (it faults its activations in again). A library scan
 * never pauses this long, while an idle service with its models loaded (MODEL_TTL, 5 minutes by
 * default) then holds about 110 MB less (bench/RESULTS.md).
 */
const ARENA_TRIM_SECONDS = 10;

/**
 * Every thread's JS garbage (decoded images, tensors), then the native heap's free pages, back to
 * the OS. Worker threads collect only when asked: each JS heap keeps its garbage until its own GC.
 * Between requests the JIT's compiled code stays (`collect`, allocator.ts); after an eviction the
 * heaps shrink too.
 */
async function releaseMemory(pool: TaskPool, inference: InferenceThreads, imageBuffers: ImageBuffers, depth: ReleaseDepth): Promise<void> {
  imageBuffers.clear();
  try {
    await Promise.all([pool.collectGarbage(depth), inference.collectGarbage(depth)]);
  } catch (error) {
    log.debug(`garbage collection in worker threads failed: ${String(error)}`);
  }
  releaseFreedMemory(depth);
}

/**
 * The shared arena's free regions, then what glibc holds of them, back to the OS. The JS heaps
 * were collected at the idle release, 9 s before, and an idle service makes little garbage since.
 */
async function trimArena(inference: InferenceThreads): Promise<void> {
  try {
    await inference.trimArena();
  } catch (error) {
    log.debug(`trimming the shared arena failed: ${String(error)}`);
  }
  trimNativeHeap();
}

export function createService(settings: Settings): Service {
  const metrics = new Metrics();
  const store = new ModelStore({
    cacheFolder: settings.cacheFolder,
    revision: settings.modelRevision,
    offline: settings.hf.offline,
    onDownload: (model, outcome) => metrics.downloads.inc({ model, outcome }),
  });
  const pool = new WorkerPool(settings.requestThreads, TASK_KERNELS);
  const session: SessionSettings = {
    inferenceThreads: settings.inferenceThreads,
    intraOpThreads: settings.intraOpThreads,
    searchIntraOpThreads: settings.searchIntraOpThreads,
    interOpThreads: settings.interOpThreads,
    arena: settings.modelArena,
    mapWeights: settings.mapWeights,
    deviceId: settings.deviceId,
    searchNice: settings.searchNice,
  };
  const setSearchNice = searchThreadsNiceSetter(settings.searchNice);
  const inference = new InferenceThreads(setSearchNice ? new SearchBacklog(settings.searchNice, setSearchNice) : undefined);
  const imageBuffers = new ImageBuffers();
  const context: ModelContext = { settings, store, pool, session, inference };
  const cache = new ModelCache((identity, name) => createModel(identity, name, context), {
    ttlSeconds: settings.modelTtl,
    sweepSeconds: settings.modelTtlPollS,
    afterEviction: () => {
      // With nothing loaded, the pre-processing workers' heaps are all that is left of the last
      // requests (inference threads stop with their last session): the next request loads models anyway.
      if (cache.loaded().length === 0) pool.stopIdleWorkers();
      void releaseMemory(pool, inference, imageBuffers, "shrink");
    },
    afterLoad: () => releaseFreedMemory("collect"),
    whenIdle: [
      { seconds: IDLE_RELEASE_SECONDS, run: () => void releaseMemory(pool, inference, imageBuffers, "collect") },
      { seconds: ARENA_TRIM_SECONDS, run: () => void trimArena(inference) },
    ],
  });
  const stopStageTiming = onStage((stage, phase, seconds) => metrics.stageSeconds.observe({ stage, phase }, seconds));
  const gate = new AdmissionGate(settings.maxConcurrentRequests, settings.maxQueuedRequests);
  const started = Date.now();
  const router = Object.keys(settings.scaling.routes).length > 0 ? new TaskRouter(settings.scaling, metrics) : undefined;
  router?.start();
  const service: Service = {
    settings,
    store,
    pool,
    inference,
    cache,
    metrics,
    dependenciesOf: (entry) => dependenciesOf(entry, entry.modelName),
    gate,
    fallback: settings.ocrFallback === "tesseract" ? ocrFallback() : undefined,
    readiness: new Readiness(),
    router,
    imageBuffers,
    health: () => ({
      status: "ok",
      readiness: service.readiness.report(),
      version: VERSION,
      uptimeSeconds: Math.round((Date.now() - started) / 1000),
      // null until the first model has loaded (onnxruntime is not loaded before).
      providers: inference.providers ?? null,
      loadedModels: cache.loaded(),
      failedModels: cache.failed().map((failure) => ({ ...failure, error: withoutCachePath(failure.error, settings.cacheFolder) })),
      inFlight: gate.inFlight,
      queued: gate.queueDepth,
      runtime: { workers: pool.size, ...session, running: { inferenceThreads: inference.count, workers: pool.started } },
      rssBytes: process.memoryUsage.rss(),
      ...(router && { peers: router.peers.map(({ url, healthy, lastError }) => ({ url, healthy, lastError: lastError ?? null })) }),
    }),
    close: async () => {
      router?.stop();
      stopStageTiming();
      await cache.close();
      await pool.close();
    },
  };
  return service;
}

export async function preloadModels(service: Service): Promise<void> {
  for (const { task, type } of PRELOAD_ORDER) {
    for (const name of service.settings.preload[task]?.[type] ?? []) {
      log.info(`Preloading ${task} ${type} model '${name}'`);
      await service.cache.preload({ task, type }, name);
    }
  }
  // Nothing has run yet, so no compiled request code to keep.
  releaseFreedMemory("shrink");
  service.readiness.markReady();
}
