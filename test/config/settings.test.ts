import { describe, expect, test } from "bun:test";
import { availableParallelism } from "node:os";
import { loadSettings, SettingsError } from "../../src/config/settings.ts";
import { defaultThreadLayout } from "../../src/runtime/thread-layout.ts";

describe("settings from the environment", () => {
  test("upstream defaults", () => {
    const s = loadSettings({});
    expect(s.host).toBe("[::]");
    expect(s.port).toBe(3003);
    expect(s.logLevel).toBe("info");
    expect(s.modelTtl).toBe(300);
    expect(s.modelTtlPollS).toBe(10);
    const layout = defaultThreadLayout(availableParallelism());
    expect([s.inferenceThreads, s.intraOpThreads, s.searchIntraOpThreads, s.interOpThreads, s.requestThreads]).toEqual([
      layout.inferenceThreads,
      layout.intraOpThreads,
      layout.searchIntraOpThreads,
      layout.interOpThreads,
      layout.workers,
    ]);
    expect(s.modelArena).toBe(true);
    expect(s.searchNice).toBe(-3);
    expect(s.maxBatchSize).toEqual({ facialRecognition: undefined, ocr: 6 });
    expect(s.modelOrganization).toBe("immich-app");
    expect(s.modelRevision).toBe("main");
    expect(s.hf.endpoint).toBe("https://huggingface.co");
    expect(s.cacheFolder).toEndWith("/.cache/immich_ml");
    expect(s.preload).toEqual({});
  });

  test("names are case-insensitive and values trimmed", () => {
    const s = loadSettings({ machine_learning_model_ttl: " 0 ", Machine_Learning_Cache_Folder: "/cache", immich_port: "4000" });
    expect(s.modelTtl).toBe(0);
    expect(s.cacheFolder).toBe("/cache");
    expect(s.port).toBe(4000);
  });

  test("preload lists, trimmed, with the deprecated single-key form filling both types", () => {
    const s = loadSettings({
      MACHINE_LEARNING_PRELOAD__CLIP__TEXTUAL: "ViT-B-32__openai, nllb-clip-base-siglip__v1",
      MACHINE_LEARNING_PRELOAD__FACIAL_RECOGNITION: "buffalo_l",
      MACHINE_LEARNING_PRELOAD__OCR__RECOGNITION: "PP-OCRv5_mobile",
    });
    expect(s.preload.clip).toEqual({ textual: ["ViT-B-32__openai", "nllb-clip-base-siglip__v1"] });
    expect(s.preload["facial-recognition"]).toEqual({ detection: ["buffalo_l"], recognition: ["buffalo_l"] });
    expect(s.preload.ocr).toEqual({ recognition: ["PP-OCRv5_mobile"] });
  });

  test("thread, arena, batch and hub settings", () => {
    const s = loadSettings({
      MACHINE_LEARNING_MODEL_INTER_OP_THREADS: "2",
      MACHINE_LEARNING_MODEL_INTRA_OP_THREADS: "4",
      MACHINE_LEARNING_MODEL_ARENA: "false",
      MACHINE_LEARNING_MAP_WEIGHTS: "false",
      MACHINE_LEARNING_INFERENCE_THREADS: "3",
      MACHINE_LEARNING_REQUEST_THREADS: "0",
      MACHINE_LEARNING_MAX_BATCH_SIZE__FACIAL_RECOGNITION: "2",
      MACHINE_LEARNING_MAX_BATCH_SIZE__TEXT_RECOGNITION: "4",
      MACHINE_LEARNING_MODEL_ORGANIZATION: "immich-testing",
      MACHINE_LEARNING_MODEL_REVISION: "v2",
      HF_ENDPOINT: "http://mirror.local/",
      HF_TOKEN: "secret",
      HF_HUB_OFFLINE: "1",
      IMMICH_LOG_LEVEL: "Warning",
      MACHINE_LEARNING_SEARCH_NICE: "0",
    });
    expect(s.searchNice).toBe(0);
    expect([s.mapWeights, loadSettings({}).mapWeights]).toEqual([false, true]);
    expect([s.interOpThreads, s.intraOpThreads, s.searchIntraOpThreads, s.modelArena, s.inferenceThreads, s.requestThreads]).toEqual([2, 4, 4, false, 3, 0]);
    expect(s.maxBatchSize).toEqual({ facialRecognition: 2, ocr: 4 });
    expect([s.modelOrganization, s.modelRevision]).toEqual(["immich-testing", "v2"]);
    expect(s.hf).toEqual({ endpoint: "http://mirror.local", token: "secret", offline: true });
    expect(s.logLevel).toBe("warn");
  });

  test("hardware-specific upstream variables are accepted and reported as ignored", () => {
    const s = loadSettings({ MACHINE_LEARNING_ANN: "true", MACHINE_LEARNING_RKNN_THREADS: "2", MACHINE_LEARNING_OPENVINO_PRECISION: "FP16" });
    expect(s.ignored.sort()).toEqual(["MACHINE_LEARNING_ANN", "MACHINE_LEARNING_OPENVINO_PRECISION", "MACHINE_LEARNING_RKNN_THREADS"]);
  });

  test("connection settings: upstream's keep-alive timeout (default 2 s), body timeout, bytes in flight never below one body", () => {
    const defaults = loadSettings({});
    expect([defaults.httpKeepaliveTimeoutS, defaults.bodyTimeoutS, defaults.maxBodyBytesInFlight]).toEqual([2, 60, 256 * 1024 * 1024]);
    const s = loadSettings({
      MACHINE_LEARNING_HTTP_KEEPALIVE_TIMEOUT_S: "5",
      MACHINE_LEARNING_BODY_TIMEOUT_S: "10",
      MACHINE_LEARNING_MAX_BODY_BYTES: "1000",
      MACHINE_LEARNING_MAX_BODY_BYTES_IN_FLIGHT: "10",
    });
    expect([s.httpKeepaliveTimeoutS, s.bodyTimeoutS, s.maxBodyBytesInFlight]).toEqual([5, 10, 1000]);
    expect(s.ignored).toEqual([]);
  });

  test("connection front: on by default, cap derived unless set, header deadline 10 s", () => {
    const defaults = loadSettings({});
    expect([defaults.connectionGuard, defaults.maxConnections, defaults.headerTimeoutS]).toEqual([true, undefined, 10]);
    const s = loadSettings({ MACHINE_LEARNING_CONNECTION_GUARD: "false", MACHINE_LEARNING_MAX_CONNECTIONS: "50", MACHINE_LEARNING_HEADER_TIMEOUT_S: "2.5" });
    expect([s.connectionGuard, s.maxConnections, s.headerTimeoutS]).toEqual([false, 50, 2.5]);
  });

  for (const [name, value, expected] of [
    ["MACHINE_LEARNING_MAX_CONNECTIONS", "0", "an integer >= 1"],
    ["MACHINE_LEARNING_HEADER_TIMEOUT_S", "0", "a number of seconds > 0"],
    ["MACHINE_LEARNING_HTTP_KEEPALIVE_TIMEOUT_S", "0", "a number of seconds > 0 and <= 255"],
    ["MACHINE_LEARNING_BODY_TIMEOUT_S", "300", "a number of seconds > 0 and <= 255"],
    ["MACHINE_LEARNING_BODY_TIMEOUT_S", "a minute", "a number of seconds > 0 and <= 255"],
    ["MACHINE_LEARNING_MODEL_TTL", "soon", "a number"],
    ["IMMICH_PORT", "70000", "an integer >= 0 and <= 65535"],
    ["IMMICH_PORT", "12.5", "an integer >= 0 and <= 65535"],
    ["MACHINE_LEARNING_MODEL_ARENA", "maybe", "true or false"],
    ["MACHINE_LEARNING_MAP_WEIGHTS", "no thanks", "true or false"],
    ["MACHINE_LEARNING_MAX_BATCH_SIZE__OCR", "0", "an integer >= 1"],
    ["MACHINE_LEARNING_DOWNLOAD_RETRIES", "-1", "an integer >= 0"],
    ["MACHINE_LEARNING_SEARCH_NICE", "5", "an integer >= -20 and <= 0"],
    ["MACHINE_LEARNING_SEARCH_NICE", "-21", "an integer >= -20 and <= 0"],
    ["IMMICH_LOG_LEVEL", "loud", "verbose, debug, log, info, warn, error or critical"],
  ] as const) {
    test(`invalid ${name}=${value} fails naming the variable, the value and what it must be`, () => {
      expect(() => loadSettings({ [name]: value })).toThrow(SettingsError);
      expect(() => loadSettings({ [name]: value })).toThrow(`Invalid value for ${name}: ${JSON.stringify(value)} (expected ${expected})`);
    });
  }
});

describe("misspelled variables", () => {
  test("a name within two edits of a known one is reported with the known name, and start-up goes on", () => {
    const s = loadSettings({ IMMICH_PROT: "4000", MACHINE_LEARNING_CACHE_FOLDR: "/cache", machine_learning_model_tll: "5" });
    expect(s.misspelled).toEqual([
      { name: "IMMICH_PROT", suggestion: "IMMICH_PORT" },
      { name: "MACHINE_LEARNING_CACHE_FOLDR", suggestion: "MACHINE_LEARNING_CACHE_FOLDER" },
      { name: "machine_learning_model_tll", suggestion: "MACHINE_LEARNING_MODEL_TTL" },
    ]);
    expect([s.port, s.modelTtl]).toEqual([3003, 300]);
  });

  test("known names (any case, including ignored upstream ones and the legacy preload form), other prefixes and distant names stay quiet", () => {
    const s = loadSettings({
      immich_port: "4000",
      MACHINE_LEARNING_WORKER_TIMEOUT: "300",
      MACHINE_LEARNING_PRELOAD__CLIP: "ViT-B-32__openai",
      MACHINE_LEARNING_MAX_BATCH_SIZE__TEXT_RECOGNITION: "4",
      IMMICH_ML_NATIVE_DIR: "/opt/native",
      IMMICH_MACHINE_LEARNING_URL: "http://ml:3003",
      IMMICH_MEDIA_LOCATION: "/data",
      HF_ENDPOIN: "http://mirror",
      PORT: "1",
    });
    expect(s.misspelled).toEqual([]);
  });

  test("the new network settings are known names too, and a typo in them is caught", () => {
    expect(loadSettings({ MACHINE_LEARNING_DOWNLOAD_READ_TIMEOUT_S: "5" }).misspelled).toEqual([]);
    expect(loadSettings({ MACHINE_LEARNING_DOWNLOAD_READ_TIMOUT_S: "5" }).misspelled).toEqual([
      { name: "MACHINE_LEARNING_DOWNLOAD_READ_TIMOUT_S", suggestion: "MACHINE_LEARNING_DOWNLOAD_READ_TIMEOUT_S" },
    ]);
  });
});

describe("network and shutdown settings", () => {
  test("defaults: 10 s to connect, 30 s without a byte, 2 retries, 10 s to finish on a stop signal", () => {
    const s = loadSettings({});
    expect(s.network).toEqual({ connectTimeoutS: 10, readTimeoutS: 30, retries: 2 });
    expect(s.shutdownTimeoutS).toBe(10);
  });

  test("set from the environment, zero or negative timeouts and negative retries refused", () => {
    const s = loadSettings({
      MACHINE_LEARNING_DOWNLOAD_CONNECT_TIMEOUT_S: "2.5",
      MACHINE_LEARNING_DOWNLOAD_READ_TIMEOUT_S: "7",
      MACHINE_LEARNING_DOWNLOAD_RETRIES: "0",
      MACHINE_LEARNING_SHUTDOWN_TIMEOUT_S: "3",
    });
    expect(s.network).toEqual({ connectTimeoutS: 2.5, readTimeoutS: 7, retries: 0 });
    expect(s.shutdownTimeoutS).toBe(3);
    expect(() => loadSettings({ MACHINE_LEARNING_DOWNLOAD_CONNECT_TIMEOUT_S: "0" })).toThrow(/MACHINE_LEARNING_DOWNLOAD_CONNECT_TIMEOUT_S/);
    expect(() => loadSettings({ MACHINE_LEARNING_DOWNLOAD_RETRIES: "-1" })).toThrow(/MACHINE_LEARNING_DOWNLOAD_RETRIES/);
  });
});
