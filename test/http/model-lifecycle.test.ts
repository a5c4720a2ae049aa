/** Download → cache layout → serve, self-healing, offline mode, preload and single-flight, over HTTP. */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { predict, startTestServer } from "../support/test-server.ts";
import { clipRepoFiles, writeClipModel } from "../support/clip-cache.ts";
import { startFakeHub, type FakeHub } from "../support/fake-hub.ts";
import { waitUntil } from "../support/wait-until.ts";

// Downloads from a local hub, loads, TTL eviction and reloads: up to a few seconds per test.
setDefaultTimeout(10_000);

const sharp: typeof import("sharp").default = require("sharp");
const solidPng = async (width: number, height: number) =>
  new Uint8Array(
    await sharp({ create: { width, height, channels: 3, background: "#3a6" } })
      .png()
      .toBuffer(),
  );

const REPO = "immich-app/ViT-B-32__openai";
const TEXT = { clip: { textual: { modelName: "ViT-B-32__openai" } } };
const IMAGE = { clip: { visual: { modelName: "ViT-B-32__openai" } } };
let hub: FakeHub;

beforeAll(() => {
  hub = startFakeHub({ [REPO]: clipRepoFiles(), "immich-app/RN50__openai": { ...clipRepoFiles(), "textual/model.onnx": "not a model" } });
});
afterAll(() => hub.stop());

describe("model lifecycle over HTTP", () => {
  test("first request downloads into upstream's layout, 50 concurrent requests share one download", async () => {
    const server = await startTestServer({ HF_ENDPOINT: hub.url });
    try {
      const before = hub.hits.get(`tree:${REPO}`) ?? 0;
      const responses = await Promise.all(Array.from({ length: 50 }, () => predict(server.url, TEXT, { text: "a photo of a cat" })));
      expect(responses.map((r) => r.status)).toEqual(Array(50).fill(200));
      const bodies = await Promise.all(responses.map((r) => r.text()));
      expect(new Set(bodies).size).toBe(1);
      expect((hub.hits.get(`tree:${REPO}`) ?? 0) - before).toBe(1);
      const dir = join(server.cacheFolder, "clip", "ViT-B-32__openai");
      expect(existsSync(join(dir, "config.json"))).toBe(true);
      expect(existsSync(join(dir, "textual", "tokenizer.json"))).toBe(true);
      expect(existsSync(join(dir, "textual", "model.onnx"))).toBe(true);
      expect(existsSync(join(dir, "visual", "model.onnx"))).toBe(false); // fetched when first needed
      expect(server.service.cache.loaded()).toHaveLength(1);
      // The service's own count agrees: one download, one load.
      const metrics = await (await fetch(`${server.url}/metrics`)).text();
      expect(metrics).toContain('immich_ml_model_downloads_total{model="ViT-B-32__openai",outcome="success"} 1');
      expect(metrics).toContain('immich_ml_model_load_seconds{task="clip",type="textual",model="ViT-B-32__openai"}');
      expect(metrics).toContain('immich_ml_requests_total{task="clip",type="textual",model="ViT-B-32__openai",status="200"} 50');
    } finally {
      await server.stop();
    }
  });

  test("a corrupt cached model is deleted, downloaded again and served", async () => {
    const server = await startTestServer({ HF_ENDPOINT: hub.url }, (cache) => {
      writeClipModel(cache, "ViT-B-32__openai");
      writeFileSync(join(cache, "clip", "ViT-B-32__openai", "textual", "model.onnx"), "truncated garbage");
    });
    try {
      const res = await predict(server.url, TEXT, { text: "a photo of a cat" });
      expect(res.status).toBe(200);
    } finally {
      await server.stop();
    }
  });

  test("a model that stays broken after one re-download fails with 500 naming it", async () => {
    const server = await startTestServer({ HF_ENDPOINT: hub.url });
    try {
      const res = await predict(server.url, { clip: { textual: { modelName: "RN50__openai" } } }, { text: "x" });
      expect(res.status).toBe(500);
      expect(((await res.json()) as { detail: string }).detail).toStartWith("Failed to load model 'RN50__openai'");
      // The service is still healthy for other models.
      expect((await predict(server.url, TEXT, { text: "x" })).status).toBe(200);
    } finally {
      await server.stop();
    }
  });

  test("HF_HUB_OFFLINE serves cached models and names uncached ones", async () => {
    const server = await startTestServer({ HF_ENDPOINT: hub.url, HF_HUB_OFFLINE: "1" }, (cache) => writeClipModel(cache, "ViT-B-32__openai"));
    try {
      expect((await predict(server.url, TEXT, { text: "x" })).status).toBe(200);
      const res = await predict(server.url, { clip: { textual: { modelName: "ViT-B-16__openai" } } }, { text: "x" });
      expect(res.status).toBe(503);
      const detail = ((await res.json()) as { detail: string }).detail;
      expect(detail).toContain("ViT-B-16__openai");
      expect(detail).toContain("HF_HUB_OFFLINE");
    } finally {
      await server.stop();
    }
  });

  test("PRELOAD__* models are loaded before serving and pinned", async () => {
    const server = await startTestServer(
      {
        MACHINE_LEARNING_PRELOAD__CLIP__TEXTUAL: "ViT-B-32__openai",
        MACHINE_LEARNING_PRELOAD__CLIP__VISUAL: "ViT-B-32__openai",
        MACHINE_LEARNING_MODEL_TTL: "0.1",
        MACHINE_LEARNING_MODEL_TTL_POLL_S: "0.05",
      },
      (cache) => {
        writeClipModel(cache, "ViT-B-32__openai");
        writeClipModel(cache, "ViT-B-16__openai");
      },
    );
    try {
      const health = (await (await fetch(`${server.url}/health`)).json()) as { loadedModels: Array<{ type: string; pinned: boolean }> };
      expect(health.loadedModels.map((m) => [m.type, m.pinned]).sort()).toEqual([
        ["textual", true],
        ["visual", true],
      ]);
      // A model loaded by a request is evicted after the TTL; by then the preloaded ones had idled as long.
      expect((await predict(server.url, { clip: { textual: { modelName: "ViT-B-16__openai" } } }, { text: "x" })).status).toBe(200);
      await waitUntil(() => !server.service.cache.loaded().some((m) => m.name === "ViT-B-16__openai"), "the unpinned model's eviction");
      expect(
        server.service.cache
          .loaded()
          .map((m) => [m.name, m.type])
          .sort(),
      ).toEqual([
        ["ViT-B-32__openai", "textual"],
        ["ViT-B-32__openai", "visual"],
      ]);
    } finally {
      await server.stop();
    }
  });

  test("MODEL_TTL unloads an idle model; the next request loads it again", async () => {
    // A TTL long enough that neither tower expires while the other request is still being served
    // on a busy machine; the sweep is waited for below.
    const server = await startTestServer({ MACHINE_LEARNING_MODEL_TTL: "1.5", MACHINE_LEARNING_MODEL_TTL_POLL_S: "0.05" }, (cache) =>
      writeClipModel(cache, "ViT-B-32__openai"),
    );
    const threads = () => server.service.inference.count;
    try {
      const before = threads();
      const first = await (await predict(server.url, TEXT, { text: "a photo of a cat" })).text();
      expect((await predict(server.url, IMAGE, { image: await solidPng(64, 48) })).status).toBe(200);
      expect(server.service.cache.loaded()).toHaveLength(2);
      expect(threads()).toBeGreaterThan(0);
      expect(server.service.pool.started).toBe(1);
      await waitUntil(() => server.service.cache.loaded().length === 0, "the TTL sweep to unload both towers", 10_000);
      // Back to what it was: the inference threads stopped with their last session, the
      // pre-processing worker with the last model.
      await waitUntil(() => threads() === before && server.service.pool.started === 0, "the threads to stop");
      const second = await (await predict(server.url, TEXT, { text: "a photo of a cat" })).text();
      expect(second).toBe(first);
    } finally {
      await server.stop();
    }
  });
});

test("a cache folder that cannot be written gives a clear error", async () => {
  const server = await startTestServer({ HF_ENDPOINT: hub.url }, (cache) => {
    mkdirSync(join(cache, "clip"), { recursive: true });
    writeFileSync(join(cache, "clip", "ViT-B-32__openai"), "a file where a folder should be");
  });
  try {
    const res = await predict(server.url, TEXT, { text: "x" });
    expect(res.status).toBe(503);
    expect(((await res.json()) as { detail: string }).detail).toContain("ViT-B-32__openai");
  } finally {
    await server.stop();
  }
});
