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
    expect([s.inferenceThreads, s.intraOpThreads, s.interOpThreads, s.requestThreads]).toEqual([
      layout.inferenceThreads,
      layout.intraOpThreads,
      layout.interOpThreads,
      layout.workers,
    ]);
    expect(s.modelArena).toBe(true);
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
    });
    expect([s.interOpThreads, s.intraOpThreads, s.modelArena, s.inferenceThreads, s.requestThreads]).toEqual([2, 4, false, 3, 0]);
    expect(s.maxBatchSize).toEqual({ facialRecognition: 2, ocr: 4 });
    expect([s.modelOrganization, s.modelRevision]).toEqual(["immich-testing", "v2"]);
    expect(s.hf).toEqual({ endpoint: "http://mirror.local", token: "secret", offline: true });
    expect(s.logLevel).toBe("warn");
  });

  test("hardware-specific upstream variables are accepted and reported as ignored", () => {
    const s = loadSettings({ MACHINE_LEARNING_ANN: "true", MACHINE_LEARNING_RKNN_THREADS: "2", MACHINE_LEARNING_OPENVINO_PRECISION: "FP16" });
    expect(s.ignored.sort()).toEqual(["MACHINE_LEARNING_ANN", "MACHINE_LEARNING_OPENVINO_PRECISION", "MACHINE_LEARNING_RKNN_THREADS"]);
  });

  for (const [name, value] of [
    ["MACHINE_LEARNING_MODEL_TTL", "soon"],
    ["IMMICH_PORT", "70000"],
    ["IMMICH_PORT", "12.5"],
    ["MACHINE_LEARNING_MODEL_ARENA", "maybe"],
    ["MACHINE_LEARNING_MAX_BATCH_SIZE__OCR", "0"],
    ["IMMICH_LOG_LEVEL", "loud"],
  ] as const) {
    test(`invalid ${name}=${value} fails naming the variable`, () => {
      expect(() => loadSettings({ [name]: value })).toThrow(SettingsError);
      expect(() => loadSettings({ [name]: value })).toThrow(name);
    });
  }
});
