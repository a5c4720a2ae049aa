/**
 * Prometheus metrics (prom-client), recorded at the boundaries: the HTTP layer counts requests and
 * their latency, the pipeline times each model's inference, the model cache reports loads. Served
 * at /metrics in the text exposition format.
 *
 * Every label value comes from a bounded set: a model label is a registered model's name or
 * `unknown`, whatever name the client sent, so that made-up names cannot grow the registry (each
 * distinct label set is a time series kept for the life of the process).
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { lookupModel } from "../models/registry.ts";

/** The label for a model name a client sent: its registered name, or `unknown`. */
export function modelLabel(name: string): string {
  return lookupModel(name)?.name ?? "unknown";
}

/**
 * How often the default metrics' event-loop delay monitor samples (prom-client's default: 10 ms).
 * Each sample wakes the HTTP thread, which runs at a higher priority than inference
 * (thread-priority.ts) and so preempts a run: at 10 ms, 100 wake-ups a second, the saturated
 * service made 5.8-6.1 OCR requests/s on 2 cores against 6.5-6.6 without the monitor
 * (`bench/thread-cpu.ts`, alternating). Sampled once a second, the idle HTTP thread wakes 11-15
 * times in 2 s instead of 210, and a stalled loop still shows; /ping latency is the direct signal.
 */
const EVENT_LOOP_SAMPLE_MS = 1000;

const DEFAULT_METRICS_PREFIX = "immich_ml_";

/**
 * Default metrics left out: under Bun, `v8.getHeapSpaceStatistics` walks the whole JS heap on the
 * HTTP thread, 5-15 ms a scrape (14.8 ms for 300,000 objects), during which /ping waits; the
 * process's heap size and RSS stay (`nodejs_heap_size_*`, `process_resident_memory_bytes`).
 */
const HEAP_SPACE_METRICS = ["nodejs_heap_space_size_total_bytes", "nodejs_heap_space_size_used_bytes", "nodejs_heap_space_size_available_bytes"];

/** Whole-request latencies: from a cached text query (ms) to a first model download (s). */
const REQUEST_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export class Metrics {
  readonly registry = new Registry();

  readonly requests = new Counter({
    name: "immich_ml_requests_total",
    help: "Answered /predict requests by task, type, model and HTTP status",
    labelNames: ["task", "type", "model", "status"] as const,
    registers: [this.registry],
  });

  readonly requestSeconds = new Histogram({
    name: "immich_ml_request_duration_seconds",
    help: "Whole /predict latency by task, type, model and HTTP status (decode, queue and inference included)",
    labelNames: ["task", "type", "model", "status"] as const,
    buckets: REQUEST_BUCKETS,
    registers: [this.registry],
  });

  readonly inferenceSeconds = new Histogram({
    name: "immich_ml_inference_duration_seconds",
    help: "Time inside one model's predict (pre-processing, session run, post-processing)",
    labelNames: ["task", "type", "model"] as const,
    buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });

  readonly stageSeconds = new Histogram({
    name: "immich_ml_stage_duration_seconds",
    help: "Time per runtime stage (decode, kernel:<name>, session:<model>/<type>) by phase: wait (for its thread), run, abandoned (skipped unstarted: its request timed out; time waited)",
    labelNames: ["stage", "phase"] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });

  readonly modelLoadSeconds = new Gauge({
    name: "immich_ml_model_load_seconds",
    help: "How long the currently loaded model took to load (download excluded when cached)",
    labelNames: ["task", "type", "model"] as const,
    registers: [this.registry],
  });

  readonly inFlight = new Gauge({ name: "immich_ml_requests_in_flight", help: "Predictions running now", registers: [this.registry] });
  readonly queueDepth = new Gauge({ name: "immich_ml_queue_depth", help: "Predictions waiting for a slot", registers: [this.registry] });
  readonly loadedModels = new Gauge({ name: "immich_ml_loaded_models", help: "Models held in memory", registers: [this.registry] });
  readonly downloads = new Counter({
    name: "immich_ml_model_downloads_total",
    help: "Model downloads by outcome",
    labelNames: ["model", "outcome"] as const,
    registers: [this.registry],
  });

  readonly peerRequests = new Counter({
    name: "immich_ml_peer_requests_total",
    help: "Requests sent to routing peers by peer, task and outcome (ok, client_error: a 4xx passed on, error: 5xx/timeout/refused)",
    labelNames: ["peer", "task", "outcome"] as const,
    registers: [this.registry],
  });
  readonly peerSeconds = new Histogram({
    name: "immich_ml_peer_request_duration_seconds",
    help: "Latency of requests sent to routing peers, by peer and task",
    labelNames: ["peer", "task"] as const,
    buckets: REQUEST_BUCKETS,
    registers: [this.registry],
  });
  readonly peerHealthy = new Gauge({
    name: "immich_ml_peer_healthy",
    help: "1 while a routing peer passes its /ping checks",
    labelNames: ["peer"] as const,
    registers: [this.registry],
  });
  readonly peerFallbacks = new Counter({
    name: "immich_ml_peer_fallbacks_total",
    help: "Routed tasks run locally because no peer served them",
    labelNames: ["task"] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: DEFAULT_METRICS_PREFIX, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
    for (const name of HEAP_SPACE_METRICS) this.registry.removeSingleMetric(DEFAULT_METRICS_PREFIX + name);
  }
}
