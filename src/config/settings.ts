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
import { DEFAULT_SEARCH_NICE } from "../runtime/thread-priority.ts";

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
  /** Intra-op threads of search queries' sessions: MODEL_INTRA_OP_THREADS when set, like every session's. */
  searchIntraOpThreads: number;
  /** Nice of the HTTP and search threads where the OS lets the process raise them (runtime/thread-priority.ts); 0 keeps normal priority. */
  searchNice: number;
  modelArena: boolean;
  /** Rewrite large models' weights into `model.onnx.data` on their first CPU load, to map them (runtime/mapped-weights.ts). */
  mapWeights: boolean;
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

type EnvEntry = { name: string; value: string } | undefined;

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

/** What a numeric variable may hold. */
interface NumberRule {
  readonly integer?: boolean;
  /** The smallest value allowed, or with `exclusiveMin` the value it must exceed. */
  readonly min?: number;
  readonly exclusiveMin?: boolean;
  readonly max?: number;
  /** What the number counts ("seconds"), for the message. */
  readonly unit?: string;
}

const INTEGER: NumberRule = { integer: true };
const POSITIVE_INTEGER: NumberRule = { integer: true, min: 1 };
const NON_NEGATIVE_INTEGER: NumberRule = { integer: true, min: 0 };
const PORT: NumberRule = { integer: true, min: 0, max: 65535 };
const POSITIVE_SECONDS: NumberRule = { unit: "seconds", min: 0, exclusiveMin: true };
const NON_NEGATIVE_SECONDS: NumberRule = { unit: "seconds", min: 0 };
/** Connection timers: above 255 s Bun refuses them. */
const TIMER_SECONDS: NumberRule = { ...POSITIVE_SECONDS, max: 255 };

function obeys(value: number, rule: NumberRule): boolean {
  if (!Number.isFinite(value) || (rule.integer && !Number.isInteger(value))) return false;
  if (rule.min !== undefined && (rule.exclusiveMin ? value <= rule.min : value < rule.min)) return false;
  return rule.max === undefined || value <= rule.max;
}

/** The rule in words, the same whether the value is not a number or out of bounds: "a number of seconds > 0 and <= 255". */
function describeRule(rule: NumberRule): string {
  const words = [rule.integer ? "an integer" : "a number"];
  if (rule.unit) words.push(`of ${rule.unit}`);
  if (rule.min !== undefined) words.push(`${rule.exclusiveMin ? ">" : ">="} ${rule.min}`);
  if (rule.max !== undefined) words.push(`${rule.min !== undefined ? "and " : ""}<= ${rule.max}`);
  return words.join(" ");
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

  const num = (entry: EnvEntry, fallback: number, rule: NumberRule = {}): number => {
    if (!entry || entry.value.trim() === "") return fallback;
    const value = Number(entry.value.trim());
    if (!obeys(value, rule)) throw new SettingsError(entry.name, entry.value, describeRule(rule));
    return value;
  };
  const bool = (entry: EnvEntry, fallback: boolean): boolean => {
    if (!entry || entry.value.trim() === "") return fallback;
    const value = entry.value.trim().toLowerCase();
    if (["1", "true", "yes", "on"].includes(value)) return true;
    if (["0", "false", "no", "off"].includes(value)) return false;
    throw new SettingsError(entry.name, entry.value, "true or false");
  };
  const names = (entry: EnvEntry): string[] | undefined => {
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

  const port = num(raw("immich_port"), 3003, PORT);

  const cpus = Math.max(1, availableParallelism());
  // Unset thread counts follow the layout chosen from the core count (runtime/thread-layout.ts);
  // upstream's fixed intra 2 / inter 1 leaves most of a big machine idle.
  const layout = defaultThreadLayout(cpus);
  const requestThreads = num(ml("request_threads"), layout.workers, INTEGER);
  const inferenceThreads = num(ml("inference_threads"), 0, INTEGER);
  const interOp = num(ml("model_inter_op_threads"), 0, INTEGER);
  const intraOp = num(ml("model_intra_op_threads"), 0, INTEGER);

  const preload: PreloadSettings = {};
  for (const { task, type } of PRELOAD_ORDER) {
    // The pre-v3 single-key forms (`PRELOAD__CLIP`) fill both types of the task.
    const legacyKey = `preload__${settingsKey(task)}`;
    const list = names(ml(`${legacyKey}__${type}`)) ?? names(ml(legacyKey));
    if (list) (preload[task] ??= {})[type] = list;
  }

  const faceBatch = ml("max_batch_size__facial_recognition");
  const ocrBatch = ml("max_batch_size__ocr") ?? ml("max_batch_size__text_recognition");
  const maxBodyBytes = num(ml("max_body_bytes"), 64 * 1024 * 1024, POSITIVE_INTEGER);

  const fallbackEntry = ml("ocr_fallback");
  const ocrFallback = fallbackEntry?.value.trim().toLowerCase() || undefined;
  if (ocrFallback !== undefined && ocrFallback !== "tesseract") {
    throw new SettingsError(fallbackEntry!.name, fallbackEntry!.value, "tesseract or unset");
  }

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
    searchIntraOpThreads: intraOp > 0 ? intraOp : layout.searchIntraOpThreads,
    searchNice: num(ml("search_nice"), DEFAULT_SEARCH_NICE, { integer: true, min: -20, max: 0 }),
    // On, as upstream: each run reuses its activations' memory instead of mapping and faulting it
    // in afresh. Measured on 2 cores, one thread, interleaved: face detector 40 vs 48 ms, embedder
    // 6.5 vs 7.8 ms; for about 40 MB more RSS with CLIP, a face pair and an OCR pair loaded
    // (bench/RESULTS.md). Off gives that memory back. Sessions whose input shape varies go
    // without it either way (runtime/onnx-session.ts `sessionSettingsFor`).
    modelArena: bool(ml("model_arena"), true),
    mapWeights: bool(ml("map_weights"), true),
    preload,
    maxBatchSize: { facialRecognition: faceBatch ? num(faceBatch, 1, POSITIVE_INTEGER) : undefined, ocr: num(ocrBatch, 6, POSITIVE_INTEGER) },
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
    maxImagePixels: num(ml("max_image_pixels"), 100_000_000, POSITIVE_INTEGER),
    requestTimeoutS: num(ml("request_timeout_s"), 600),
    maxConcurrentRequests: num(ml("max_concurrent_requests"), Math.max(2, cpus * 2), POSITIVE_INTEGER),
    maxQueuedRequests: num(ml("max_queued_requests"), 256, INTEGER),
    network: {
      connectTimeoutS: num(ml("download_connect_timeout_s"), 10, POSITIVE_SECONDS),
      readTimeoutS: num(ml("download_read_timeout_s"), 30, POSITIVE_SECONDS),
      retries: num(ml("download_retries"), 2, NON_NEGATIVE_INTEGER),
    },
    // gunicorn's --graceful-timeout in upstream's image.
    shutdownTimeoutS: num(ml("shutdown_timeout_s"), 10),
    // Connection hygiene.
    httpKeepaliveTimeoutS: num(ml("http_keepalive_timeout_s"), 2, TIMER_SECONDS),
    bodyTimeoutS: num(ml("body_timeout_s"), 60, TIMER_SECONDS),
    maxBodyBytesInFlight: Math.max(num(ml("max_body_bytes_in_flight"), 256 * 1024 * 1024, POSITIVE_INTEGER), maxBodyBytes),
    connectionGuard: bool(ml("connection_guard"), true),
    maxConnections: ml("max_connections") ? num(ml("max_connections"), 1, POSITIVE_INTEGER) : undefined,
    headerTimeoutS: num(ml("header_timeout_s"), 10, POSITIVE_SECONDS),
    ignored: IGNORED.filter((key) => ml(key) !== undefined).map((key) => ml(key)!.name),
    scaling,
  };
}

function loadScalingSettings(
  ml: (key: string) => EnvEntry,
  num: (entry: EnvEntry, fallback: number, rule: NumberRule) => number,
  names: (entry: EnvEntry) => string[] | undefined,
): ScalingSettings {
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
    drainDelayS: num(ml("drain_delay_s"), 0, NON_NEGATIVE_SECONDS),
    routes,
    routeFallback,
    peerTimeoutS: num(ml("peer_timeout_s"), 60, POSITIVE_SECONDS),
    peerPingTimeoutS: num(ml("peer_ping_timeout_s"), 2, POSITIVE_SECONDS),
    peerPingIntervalS: num(ml("peer_ping_interval_s"), 10, POSITIVE_SECONDS),
  };
}
