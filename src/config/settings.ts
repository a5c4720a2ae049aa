/**
 * Service settings from the environment, with upstream's names and defaults
 * (`MACHINE_LEARNING_*`, case-insensitive, nested with `__`; `IMMICH_HOST`/`IMMICH_PORT`/
 * `IMMICH_LOG_LEVEL`). An invalid value fails start-up with a message naming the variable; a
 * name close to a known one is reported (config/misspelled.ts).
 */
import { availableParallelism, homedir } from "node:os";
import { join } from "node:path";
import { parseLogLevel, type LogLevel } from "../log.ts";
import { misspelledVariables, type MisspelledVariable } from "./misspelled.ts";
import type { ModelTask, ModelType } from "../models/identity.ts";
import { MODEL_TASKS, PRELOAD_ORDER, settingsKey } from "../tasks/catalog.ts";
import { defaultThreadLayout } from "../runtime/thread-layout.ts";

export type PreloadSettings = Partial<Record<ModelTask, Partial<Record<ModelType, string[]>>>>;

export interface Settings {
  host: string;
  port: number;
  logLevel: LogLevel;
  cacheFolder: string;
  /** Seconds a model may stay idle before it is unloaded; <= 0 keeps models forever. */
  modelTtl: number;
  /** How often (s) idle models are looked for; <= 0 disables eviction sweeps. */
  modelTtlPollS: number;
  /** Worker threads for pre/post-processing; 0 runs it inline on the event loop. */
  requestThreads: number;
  /** Threads hosting onnxruntime sessions (our own variable, `MACHINE_LEARNING_INFERENCE_THREADS`). */
  inferenceThreads: number;
  interOpThreads: number;
  intraOpThreads: number;
  modelArena: boolean;
  preload: PreloadSettings;
  maxBatchSize: { facialRecognition: number | undefined; ocr: number };
  deviceId: string;
  modelOrganization: string;
  modelRevision: string;
  hf: { endpoint: string; token: string | undefined; offline: boolean };
  /** Base URL of RapidOCR's model tree (PP-OCR downloads), when a mirror is set; else the OCR source's default. */
  ocrModelUrl: string | undefined;
  /**
   * `MACHINE_LEARNING_OCR_FALLBACK`: serve OCR requests for PP-OCR models with this engine when
   * their models cannot be downloaded; `tesseract` is the only one.
   */
  ocrFallback: "tesseract" | undefined;
  /** Base URL of tesseract.js's language data (`<base>/<lang>/4.0.0_best_int/<lang>.traineddata.gz`), when a mirror is set; else the OCR source's default. */
  tessdataUrl: string | undefined;
  /** Largest accepted request body, in bytes. */
  maxBodyBytes: number;
  /** Largest decoded image, in pixels (width x height): protects against decompression bombs. */
  maxImagePixels: number;
  /** Seconds one /predict may take before it is answered with 504 and its work abandoned. */
  requestTimeoutS: number;
  /** Requests processed at once; beyond it they queue. */
  maxConcurrentRequests: number;
  /** Requests allowed to wait for a slot; beyond it: 503 with Retry-After. */
  maxQueuedRequests: number;
  /** Timeouts and retries of every outbound request (model listings and downloads). */
  network: NetworkSettings;
  /** Seconds a stop signal waits for in-flight requests before the process exits anyway. */
  shutdownTimeoutS: number;
  // Connection hygiene: what one client may hold open, and for how long.
  /** `HTTP_KEEPALIVE_TIMEOUT_S` (upstream's, default 2): an idle keep-alive connection is closed after it. */
  httpKeepaliveTimeoutS: number;
  /** Seconds a request may take to send its whole body; a client sending it a byte at a time is cut off. */
  bodyTimeoutS: number;
  /** Request bytes (declared, or the largest allowed when undeclared) read at once; beyond: 503 before reading. */
  maxBodyBytesInFlight: number;
  /** Whether a TCP front (connection-guard.ts) enforces the two limits below; off, Bun.serve faces clients alone. */
  connectionGuard: boolean;
  /** Open connections beyond which a new one gets 503 (a `GET /ping` still gets pong); by default from the descriptor limit. */
  maxConnections: number | undefined;
  /** Seconds a request's headers may take from its first byte; trickling does not extend it. */
  headerTimeoutS: number;
  /** Variables that are understood upstream but mean nothing here (logged at start-up). */
  ignored: string[];
  /** Our-prefixed variables that are read by nobody but look like a known name (logged at start-up). */
  misspelled: MisspelledVariable[];
  /** Scaling out: readiness draining and task routing to peer instances (docs/SCALING.md). */
  scaling: ScalingSettings;
}

export interface NetworkSettings {
  /** Seconds to get a connection and the response headers. */
  connectTimeoutS: number;
  /** Seconds the body may go without a byte before the transfer is abandoned. */
  readTimeoutS: number;
  /** Further attempts after a transient failure (refused, reset, timed out, 5xx, 429). */
  retries: number;
}

export interface ScalingSettings {
  /** Seconds between SIGTERM (readiness turns 503) and closing the listener, so balancers notice first. */
  drainDelayS: number;
  /** `MACHINE_LEARNING_ROUTE__<TASK>`: peer base URLs serving that task instead of this process. */
  routes: Partial<Record<ModelTask, string[]>>;
  /** When every peer of a task fails: run it here (`local`) or answer 502 (`none`). */
  routeFallback: "local" | "none";
  /** Seconds one request to a peer may take, connection to last byte. */
  peerTimeoutS: number;
  /** Seconds a peer's /ping may take before the peer counts as down (the Immich server allows 2). */
  peerPingTimeoutS: number;
  /** Seconds between two /ping health checks of each peer. */
  peerPingIntervalS: number;
}

const PREFIX = "machine_learning_";

/** Variables upstream reads for hardware we do not drive (ARM NN, RKNN, OpenVINO, ROCm) or for gunicorn. */
const IGNORED = [
  "ann",
  "ann_fp16_turbo",
  "ann_tuning_level",
  "rknn",
  "rknn_threads",
  "openvino_precision",
  "rocm_precision",
  "workers",
  "worker_timeout",
  "device_ids",
  "test_full",
];

export class SettingsError extends Error {
  constructor(variable: string, value: string, expected: string) {
    super(`Invalid value for ${variable}: ${JSON.stringify(value)} (expected ${expected})`);
    this.name = "SettingsError";
  }
}

/** Case-insensitive view of the environment, keyed by lower-case name. */
function lowerCaseEnv(env: Record<string, string | undefined>): Map<string, { name: string; value: string }> {
  const out = new Map<string, { name: string; value: string }>();
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined) out.set(name.toLowerCase(), { name, value });
  }
  return out;
}

/** Variables read outside this module (lower-case): not misspellings. */
const READ_ELSEWHERE = ["immich_ml_native_dir", "immich_ml_huge_page_reexec"];

let knownNames: Set<string> | undefined;

/**
 * Every variable name this module reads, lower-case: the names looked up while reading an empty
 * environment, where no lookup is short-circuited by a value found earlier.
 */
function knownVariableNames(): Set<string> {
  if (!knownNames) {
    const read = new Set(READ_ELSEWHERE);
    readSettings({}, read);
    knownNames = read;
  }
  return knownNames;
}

export function loadSettings(env: Record<string, string | undefined> = process.env): Settings {
  return { ...readSettings(env, new Set()), misspelled: misspelledVariables(env, knownVariableNames()) };
}

function readSettings(env: Record<string, string | undefined>, read: Set<string>): Omit<Settings, "misspelled"> {
  const vars = lowerCaseEnv(env);
  const raw = (key: string) => {
    read.add(key);
    return vars.get(key);
  };
  const ml = (key: string) => raw(PREFIX + key);

  const num = (entry: { name: string; value: string } | undefined, fallback: number, integer = false): number => {
    if (!entry || entry.value.trim() === "") return fallback;
    const value = Number(entry.value.trim());
    if (!Number.isFinite(value) || (integer && !Number.isInteger(value))) {
      throw new SettingsError(entry.name, entry.value, integer ? "an integer" : "a number");
    }
    return value;
  };
  const bool = (entry: { name: string; value: string } | undefined, fallback: boolean): boolean => {
    if (!entry || entry.value.trim() === "") return fallback;
    const value = entry.value.trim().toLowerCase();
    if (["1", "true", "yes", "on"].includes(value)) return true;
    if (["0", "false", "no", "off"].includes(value)) return false;
    throw new SettingsError(entry.name, entry.value, "true or false");
  };
  const names = (entry: { name: string; value: string } | undefined): string[] | undefined => {
    if (!entry) return undefined;
    const list = entry.value
      .split(",")
      .map((s) => s.trim())
      .filter((s) => s.length > 0);
    return list.length > 0 ? list : undefined;
  };

  const logEntry = raw("immich_log_level");
  const logLevel = logEntry ? parseLogLevel(logEntry.value) : "info";
  if (!logLevel) {
    throw new SettingsError(logEntry!.name, logEntry!.value, "verbose, debug, log, info, warn, error or critical");
  }

  const port = num(raw("immich_port"), 3003, true);
  if (port < 0 || port > 65535) throw new SettingsError(raw("immich_port")!.name, String(port), "a port 0-65535");

  const cpus = Math.max(1, availableParallelism());
  // Unset thread counts follow the layout chosen from the core count (runtime/thread-layout.ts);
  // upstream's fixed intra 2 / inter 1 leaves most of a big machine idle.
  const layout = defaultThreadLayout(cpus);
  const requestThreads = num(ml("request_threads"), layout.workers, true);
  const inferenceThreads = num(ml("inference_threads"), 0, true);
  const interOp = num(ml("model_inter_op_threads"), 0, true);
  const intraOp = num(ml("model_intra_op_threads"), 0, true);

  const preload: PreloadSettings = {};
  for (const { task, type } of PRELOAD_ORDER) {
    // The pre-v3 single-key forms (`PRELOAD__CLIP`) fill both types of the task.
    const legacyKey = `preload__${settingsKey(task)}`;
    const list = names(ml(`${legacyKey}__${type}`)) ?? names(ml(legacyKey));
    if (list) (preload[task] ??= {})[type] = list;
  }

  const faceBatch = ml("max_batch_size__facial_recognition");
  const ocrBatch = ml("max_batch_size__ocr") ?? ml("max_batch_size__text_recognition");
  const positive = (entry: { name: string; value: string } | undefined, fallback: number) => {
    const value = num(entry, fallback, true);
    if (value < 1) throw new SettingsError(entry!.name, entry!.value, "an integer >= 1");
    return value;
  };

  // Connection timers take whole seconds (Bun's granularity); above 255 s Bun refuses them.
  const positiveSeconds = (entry: { name: string; value: string } | undefined, fallback: number) => {
    const value = num(entry, fallback);
    if (value <= 0 || value > 255) throw new SettingsError(entry!.name, entry!.value, "seconds, > 0 and <= 255");
    return value;
  };
  const maxBodyBytes = positive(ml("max_body_bytes"), 64 * 1024 * 1024);

  const fallbackEntry = ml("ocr_fallback");
  const ocrFallback = fallbackEntry?.value.trim().toLowerCase() || undefined;
  if (ocrFallback !== undefined && ocrFallback !== "tesseract") {
    throw new SettingsError(fallbackEntry!.name, fallbackEntry!.value, "tesseract or unset");
  }

  const timeout = (entry: { name: string; value: string } | undefined, fallback: number) => {
    const value = num(entry, fallback);
    if (value <= 0) throw new SettingsError(entry!.name, entry!.value, "a number of seconds > 0");
    return value;
  };

  const atLeastZero = (entry: { name: string; value: string } | undefined, fallback: number) => {
    const value = num(entry, fallback, true);
    if (value < 0) throw new SettingsError(entry!.name, entry!.value, "an integer >= 0");
    return value;
  };

  const scaling = loadScalingSettings(ml, num, names);

  return {
    host: raw("immich_host")?.value.trim() || "[::]",
    port,
    logLevel,
    cacheFolder: ml("cache_folder")?.value.trim() || join(homedir(), ".cache", "immich_ml"),
    modelTtl: num(ml("model_ttl"), 300),
    modelTtlPollS: num(ml("model_ttl_poll_s"), 10),
    requestThreads: Math.max(0, requestThreads),
    inferenceThreads: inferenceThreads > 0 ? inferenceThreads : layout.inferenceThreads,
    interOpThreads: interOp > 0 ? interOp : layout.interOpThreads,
    intraOpThreads: intraOp > 0 ? intraOp : layout.intraOpThreads,
    // On, as upstream: each run reuses its activations' memory instead of mapping and faulting it
    // in afresh. Measured on 2 cores, one thread, interleaved: face detector 40 vs 48 ms, embedder
    // 6.5 vs 7.8 ms; for about 40 MB more RSS with CLIP, a face pair and an OCR pair loaded
    // (bench/RESULTS.md). Off gives that memory back. Sessions whose input shape varies go
    // without it either way (runtime/onnx-session.ts `sessionSettingsFor`).
    modelArena: bool(ml("model_arena"), true),
    preload,
    maxBatchSize: { facialRecognition: faceBatch ? positive(faceBatch, 1) : undefined, ocr: positive(ocrBatch, 6) },
    deviceId: ml("device_id")?.value.trim() || "0",
    modelOrganization: ml("model_organization")?.value.trim() || "immich-app",
    modelRevision: ml("model_revision")?.value.trim() || "main",
    hf: {
      endpoint: (raw("hf_endpoint")?.value.trim() || "https://huggingface.co").replace(/\/+$/, ""),
      token: raw("hf_token")?.value.trim() || undefined,
      offline: bool(raw("hf_hub_offline"), false),
    },
    ocrModelUrl: ml("ocr_model_url")?.value.trim() || undefined,
    ocrFallback,
    tessdataUrl: ml("ocr_tessdata_url")?.value.trim().replace(/\/+$/, "") || undefined,
    maxBodyBytes,
    maxImagePixels: positive(ml("max_image_pixels"), 100_000_000),
    requestTimeoutS: num(ml("request_timeout_s"), 600),
    maxConcurrentRequests: positive(ml("max_concurrent_requests"), Math.max(2, cpus * 2)),
    maxQueuedRequests: num(ml("max_queued_requests"), 256, true),
    network: {
      connectTimeoutS: timeout(ml("download_connect_timeout_s"), 10),
      readTimeoutS: timeout(ml("download_read_timeout_s"), 30),
      retries: atLeastZero(ml("download_retries"), 2),
    },
    // gunicorn's --graceful-timeout in upstream's image.
    shutdownTimeoutS: num(ml("shutdown_timeout_s"), 10),
    // Connection hygiene.
    httpKeepaliveTimeoutS: positiveSeconds(ml("http_keepalive_timeout_s"), 2),
    bodyTimeoutS: positiveSeconds(ml("body_timeout_s"), 60),
    maxBodyBytesInFlight: Math.max(positive(ml("max_body_bytes_in_flight"), 256 * 1024 * 1024), maxBodyBytes),
    connectionGuard: bool(ml("connection_guard"), true),
    maxConnections: ml("max_connections") ? positive(ml("max_connections"), 1) : undefined,
    headerTimeoutS: timeout(ml("header_timeout_s"), 10),
    ignored: IGNORED.filter((key) => ml(key) !== undefined).map((key) => ml(key)!.name),
    scaling,
  };
}

type EnvEntry = { name: string; value: string } | undefined;

function loadScalingSettings(
  ml: (key: string) => EnvEntry,
  num: (entry: EnvEntry, fallback: number) => number,
  names: (entry: EnvEntry) => string[] | undefined,
): ScalingSettings {
  const nonNegative = (key: string, fallback: number) => {
    const value = num(ml(key), fallback);
    if (value < 0) throw new SettingsError(ml(key)!.name, ml(key)!.value, "a number >= 0");
    return value;
  };
  const positiveSeconds = (key: string, fallback: number) => {
    const value = num(ml(key), fallback);
    if (value <= 0) throw new SettingsError(ml(key)!.name, ml(key)!.value, "a number > 0");
    return value;
  };
  const routes: Partial<Record<ModelTask, string[]>> = {};
  for (const task of MODEL_TASKS) {
    const key = `route__${settingsKey(task)}`;
    const urls = names(ml(key));
    if (!urls) continue;
    for (const url of urls) {
      if (!/^https?:\/\/[^/]+/.test(url)) throw new SettingsError(ml(key)!.name, ml(key)!.value, "comma-separated http(s):// URLs");
    }
    routes[task] = urls.map((url) => url.replace(/\/+$/, ""));
  }
  const fallbackEntry = ml("route_fallback");
  const routeFallback = fallbackEntry?.value.trim().toLowerCase() || "local";
  if (routeFallback !== "local" && routeFallback !== "none") throw new SettingsError(fallbackEntry!.name, fallbackEntry!.value, "local or none");
  return {
    drainDelayS: nonNegative("drain_delay_s", 0),
    routes,
    routeFallback,
    peerTimeoutS: positiveSeconds("peer_timeout_s", 60),
    peerPingTimeoutS: positiveSeconds("peer_ping_timeout_s", 2),
    peerPingIntervalS: positiveSeconds("peer_ping_interval_s", 10),
  };
}
