/** The real download code against a local server speaking the Hub's API. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ModelStore, ModelUnavailableError } from "../../src/models/model-store.ts";
import { hubSource } from "../../src/models/hub-source.ts";
import { loadSettings } from "../../src/config/settings.ts";
import { startFakeHub, type FakeHub } from "../support/fake-hub.ts";
import { clipRepoFiles } from "../support/clip-cache.ts";
import { tempDir } from "../support/temp.ts";

const REPO = "immich-app/ViT-B-32__openai";
let hub: FakeHub;

beforeAll(() => {
  hub = startFakeHub({ [REPO]: clipRepoFiles() });
});
afterAll(() => hub.stop());

const settings = () => ({ organization: "immich-app", revision: "main", endpoint: hub.url, token: undefined, network: loadSettings({}).network });
const visual = { task: "clip", type: "visual" } as const;

function listTree(dir: string, prefix = ""): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? listTree(join(dir, entry.name), `${prefix}${entry.name}/`) : [`${prefix}${entry.name}`],
  );
}

describe("hub download into upstream's cache layout", () => {
  test("fetches root files and the asked type's folder, skips foreign formats", async () => {
    const cache = tempDir();
    const store = new ModelStore({ cacheFolder: cache, revision: "main", offline: false });
    const dir = await store.ensure(visual, "ViT-B-32::openai", hubSource(settings(), "ViT-B-32::openai"));
    expect(dir).toBe(join(cache, "clip", "ViT-B-32__openai"));
    expect(listTree(dir).sort()).toEqual(["README.md", "config.json", "visual/model.onnx", "visual/preprocess_cfg.json"]);
    expect(readFileSync(join(dir, "visual/model.onnx"))).toEqual(Buffer.from(clipRepoFiles()["visual/model.onnx"] as Uint8Array));
    expect(store.isCached(visual, "ViT-B-32__openai")).toBe(true);
    expect(store.isCached({ task: "clip", type: "textual" }, "ViT-B-32__openai")).toBe(false);
  });

  test("50 concurrent requests for an uncached model download it once", async () => {
    const store = new ModelStore({ cacheFolder: tempDir(), revision: "main", offline: false });
    const before = hub.hits.get(`resolve:${REPO}/visual/model.onnx`) ?? 0;
    const treeBefore = hub.hits.get(`tree:${REPO}`) ?? 0;
    await Promise.all(Array.from({ length: 50 }, () => store.ensure(visual, "ViT-B-32__openai", hubSource(settings(), "ViT-B-32__openai"))));
    expect(hub.hits.get(`tree:${REPO}`)! - treeBefore).toBe(1);
    // One ranged probe for the size plus one body request, whatever the number of callers.
    expect(hub.hits.get(`resolve:${REPO}/visual/model.onnx`)! - before).toBeLessThanOrEqual(2);
  });

  test("a download cut off mid-way leaves nothing that counts as cached, and the next try completes", async () => {
    const cache = tempDir();
    const store = new ModelStore({ cacheFolder: cache, revision: "main", offline: false });
    hub.truncate(`${REPO}/visual/model.onnx`, 100);
    const noRetries = { ...settings(), network: { ...settings().network, retries: 0 } };
    await expect(store.ensure(visual, "ViT-B-32__openai", hubSource(noRetries, "ViT-B-32__openai"))).rejects.toThrow(ModelUnavailableError);
    expect(store.isCached(visual, "ViT-B-32__openai")).toBe(false);
    expect(existsSync(join(cache, "clip/ViT-B-32__openai/visual/model.onnx"))).toBe(false);
    expect(listTree(join(cache, "clip/ViT-B-32__openai")).filter((path) => path.endsWith(".partial"))).toEqual([]);
    await store.ensure(visual, "ViT-B-32__openai", hubSource(settings(), "ViT-B-32__openai"));
    expect(store.isCached(visual, "ViT-B-32__openai")).toBe(true);
    expect(listTree(join(cache, "clip/ViT-B-32__openai")).some((path) => path.endsWith(".partial"))).toBe(false);
  });

  test("dropped connections are retried with backoff and the download completes", async () => {
    const store = new ModelStore({ cacheFolder: tempDir(), revision: "main", offline: false });
    hub.truncate(`${REPO}/visual/model.onnx`, 100, 2);
    const waits: number[] = [];
    const network = { ...settings().network, retries: 2, backoffMs: 5, sleep: async (ms: number) => void waits.push(ms) };
    await store.ensure(visual, "ViT-B-32__openai", hubSource({ ...settings(), network }, "ViT-B-32__openai"));
    expect(store.isCached(visual, "ViT-B-32__openai")).toBe(true);
    // Bun's fetch may itself resend a request whose connection dropped, so not every cut costs a retry.
    expect(waits.length).toBeGreaterThan(0);
    expect(waits).toEqual([5, 10].slice(0, waits.length));
  });

  test("a file whose transfer stalls fails after the read timeout, naming host and timeout, and leaves nothing cached", async () => {
    // The Hub's answers, except that the model file sends 100 bytes and then nothing, connection open.
    const stalling = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: async (request) => {
        const url = new URL(request.url);
        const answer = await fetch(`${hub.url}${url.pathname}${url.search}`, { headers: request.headers });
        if (!url.pathname.endsWith("/visual/model.onnx") || request.headers.get("range") === "bytes=0-0") return answer;
        const body = new ReadableStream<Uint8Array>({ start: (controller) => controller.enqueue(new Uint8Array(100)) });
        return new Response(body, { headers: { "content-length": answer.headers.get("content-length")! } });
      },
    });
    try {
      const cache = tempDir();
      const store = new ModelStore({ cacheFolder: cache, revision: "main", offline: false });
      const network = { connectTimeoutS: 5, readTimeoutS: 0.3, retries: 0 };
      const source = hubSource({ ...settings(), endpoint: `http://127.0.0.1:${stalling.port}`, network }, "ViT-B-32__openai");
      const started = performance.now();
      const error = await store.ensure(visual, "ViT-B-32__openai", source).catch((e: Error) => e);
      expect(error).toBeInstanceOf(ModelUnavailableError);
      expect((error as Error).message).toContain(`127.0.0.1:${stalling.port} sent no data for 0.3 s (MACHINE_LEARNING_DOWNLOAD_READ_TIMEOUT_S)`);
      expect(performance.now() - started).toBeLessThan(5000);
      expect(store.isCached(visual, "ViT-B-32__openai")).toBe(false);
      expect(listTree(join(cache, "clip/ViT-B-32__openai")).filter((path) => path.endsWith(".partial"))).toEqual([]);
    } finally {
      stalling.stop(true);
    }
  });

  test("MODEL_REVISION other than main goes into its own folder and asks for that revision", async () => {
    const cache = tempDir();
    const store = new ModelStore({ cacheFolder: cache, revision: "v2", offline: false });
    const dir = await store.ensure(visual, "ViT-B-32__openai", hubSource({ ...settings(), revision: "v2" }, "ViT-B-32__openai"));
    expect(dir).toBe(join(cache, "clip", "ViT-B-32__openai", "v2"));
    expect(existsSync(join(dir, "visual/model.onnx"))).toBe(true);
  });

  test("an unknown repository fails with a message naming model and source", async () => {
    const store = new ModelStore({ cacheFolder: tempDir(), revision: "main", offline: false });
    const error = await store.ensure(visual, "RN50__openai", hubSource(settings(), "RN50__openai")).catch((e: Error) => e);
    expect(error).toBeInstanceOf(ModelUnavailableError);
    expect((error as Error).message).toContain("RN50__openai");
    expect((error as Error).message).toContain(hub.url);
  });

  test("HF_HUB_OFFLINE refuses to download and says so", async () => {
    const store = new ModelStore({ cacheFolder: tempDir(), revision: "main", offline: true });
    const before = hub.hits.get(`tree:${REPO}`) ?? 0;
    await expect(store.ensure(visual, "ViT-B-32__openai", hubSource(settings(), "ViT-B-32__openai"))).rejects.toThrow("HF_HUB_OFFLINE");
    expect(hub.hits.get(`tree:${REPO}`) ?? 0).toBe(before);
  });
});
