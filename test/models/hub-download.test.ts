/** The real download code against a local server speaking the Hub's API. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ModelStore, ModelUnavailableError } from "../../src/models/model-store.ts";
import { hubSource } from "../../src/models/hub-source.ts";
import { loadSettings } from "../../src/config/settings.ts";
import { startFakeHub, type FakeHub } from "../support/fake-hub.ts";
import { clipRepoFiles, writeClipModel } from "../support/clip-cache.ts";
import { setLogLevel, setLogSink } from "../../src/log.ts";
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

  test("a download cut off mid-way leaves nothing that counts as cached, and the next try (after the cool-down) completes", async () => {
    const cache = tempDir();
    let now = 0;
    const store = new ModelStore({ cacheFolder: cache, revision: "main", offline: false, now: () => now });
    hub.truncate(`${REPO}/visual/model.onnx`, 100);
    const noRetries = { ...settings(), network: { ...settings().network, retries: 0 } };
    await expect(store.ensure(visual, "ViT-B-32__openai", hubSource(noRetries, "ViT-B-32__openai"))).rejects.toThrow(ModelUnavailableError);
    expect(store.isCached(visual, "ViT-B-32__openai")).toBe(false);
    expect(existsSync(join(cache, "clip/ViT-B-32__openai/visual/model.onnx"))).toBe(false);
    expect(listTree(join(cache, "clip/ViT-B-32__openai")).filter((path) => path.endsWith(".partial"))).toEqual([]);
    now = 3600;
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

  test("an unreachable hub is asked once per cool-down, logged once as a warning without a stack, with a remedy", async () => {
    let now = 0;
    const cache = tempDir();
    const store = new ModelStore({ cacheFolder: cache, revision: "main", offline: false, failureCooldownS: 60, now: () => now });
    const unreachable = { ...settings(), endpoint: "http://127.0.0.1:9" };
    const lines: string[] = [];
    const previousSink = setLogSink((line) => lines.push(line));
    setLogLevel("warn");
    try {
      const errors: unknown[] = [];
      for (let i = 0; i < 5; i++)
        errors.push(await store.ensure(visual, "ViT-B-32__openai", hubSource(unreachable, "ViT-B-32__openai")).catch((e: unknown) => e));
      for (const error of errors) expect(error).toBeInstanceOf(ModelUnavailableError);
      const message = (errors[0] as Error).message;
      expect(message).toContain(
        "Set HF_ENDPOINT to a reachable mirror, or HF_HUB_OFFLINE=1 to serve cached models only, or run 'immich-ml download ViT-B-32__openai' on a connected machine",
      );
      expect((errors[4] as Error).message).toBe(message);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain("WARN");
      expect(lines[0]).toContain("(next attempt in 60 s)");
      expect(lines[0]).not.toContain("\n    at ");
      // After the cool-down the hub is asked again (and fails again: a second line).
      now = 61;
      await store.ensure(visual, "ViT-B-32__openai", hubSource(unreachable, "ViT-B-32__openai")).catch(() => {});
      expect(lines).toHaveLength(2);
      // A model copied into the cache meanwhile is served at once, cool-down or not.
      now = 62;
      writeClipModel(cache, "ViT-B-32__openai");
      expect(await store.ensure(visual, "ViT-B-32__openai", hubSource(unreachable, "ViT-B-32__openai"))).toBe(join(cache, "clip", "ViT-B-32__openai"));
    } finally {
      setLogLevel("critical");
      setLogSink(previousSink);
    }
  });

  test("HF_HUB_OFFLINE: the answer names the folder relative to the cache and how to fill it", async () => {
    const cache = tempDir();
    const store = new ModelStore({ cacheFolder: cache, revision: "main", offline: true });
    const error = (await store.ensure(visual, "ViT-B-32__openai", hubSource(settings(), "ViT-B-32__openai")).catch((e: unknown) => e)) as ModelUnavailableError;
    expect(error.message).toBe(
      "Model 'ViT-B-32__openai' is not available: it is not cached (clip/ViT-B-32__openai in the cache folder) and downloads are disabled (HF_HUB_OFFLINE); run 'immich-ml download ViT-B-32__openai' on a connected machine and copy its cache folder here",
    );
    expect(error.message).not.toContain(cache);
  });

  test("HF_HUB_OFFLINE refuses to download and says so", async () => {
    const store = new ModelStore({ cacheFolder: tempDir(), revision: "main", offline: true });
    const before = hub.hits.get(`tree:${REPO}`) ?? 0;
    await expect(store.ensure(visual, "ViT-B-32__openai", hubSource(settings(), "ViT-B-32__openai"))).rejects.toThrow("HF_HUB_OFFLINE");
    expect(hub.hits.get(`tree:${REPO}`) ?? 0).toBe(before);
  });
});

describe("a listing cannot write outside the model folder", () => {
  for (const path of ["visual/../../escaped.onnx", "visual/../../../../tmp/escaped.onnx", "visual/../visual/../../escaped.onnx", "visual/.."]) {
    test(`${JSON.stringify(path)} aborts the download before anything is written`, async () => {
      const cache = tempDir();
      hub.setRepo(REPO, { ...clipRepoFiles(), [path]: "payload" });
      try {
        const store = new ModelStore({ cacheFolder: cache, revision: "main", offline: false });
        const error = await store.ensure(visual, "ViT-B-32__openai", hubSource(settings(), "ViT-B-32__openai")).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(ModelUnavailableError);
        expect((error as Error).message).toContain(`lists ${JSON.stringify(path)}, a path outside the model folder; nothing was downloaded`);
        expect(existsSync(cache) ? listTree(cache) : []).toEqual([]);
        expect(existsSync(join(cache, "..", "escaped.onnx"))).toBe(false);
      } finally {
        hub.setRepo(REPO, clipRepoFiles());
      }
    });
  }

  test("a file whose name merely starts with two dots stays inside and is fetched", async () => {
    const cache = tempDir();
    hub.setRepo(REPO, { ...clipRepoFiles(), "visual/..notes.json": "{}" });
    try {
      const store = new ModelStore({ cacheFolder: cache, revision: "main", offline: false });
      const dir = await store.ensure(visual, "ViT-B-32__openai", hubSource(settings(), "ViT-B-32__openai"));
      expect(readFileSync(join(dir, "visual/..notes.json"), "utf8")).toBe("{}");
    } finally {
      hub.setRepo(REPO, clipRepoFiles());
    }
  });
});
