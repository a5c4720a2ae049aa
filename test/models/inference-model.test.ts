/**
 * A model's load, as InferenceModel runs it for every served model: files fetched once, upstream's
 * clear-and-retry only when the files themselves are unusable (not ONNX, missing, unreadable), the
 * loaded state set as one object and released on unload. Real store, real onnxruntime sessions; the
 * model's source is a local function that writes what each fetch should deliver.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { loadSettings } from "../../src/config/settings.ts";
import type { ModelIdentity } from "../../src/models/identity.ts";
import { type ModelContext, ModelLoadError, type ModelInputs } from "../../src/models/inference-model.ts";
import { ModelStore, type ModelSource } from "../../src/models/model-store.ts";
import { OnnxModel, type OnnxLoaded } from "../../src/models/onnx-model.ts";
import { InferenceThreads } from "../../src/runtime/onnx-session.ts";
import type { TaskPool } from "../../src/tasks/kernels.ts";
import { clipTextualModel } from "../support/onnx-builder.ts";
import { tempDir } from "../support/temp.ts";

const VALID_ONNX = clipTextualModel();
const NOT_ONNX = new TextEncoder().encode("<html>502 Bad Gateway</html>");

/** What one fetch writes: the model file (absent: none) and `textual/config.json` (absent: none). */
interface Delivery {
  onnx?: Uint8Array;
  config?: string;
}

interface ConfiguredLoaded extends OnnxLoaded {
  readonly config: { contextLength: number };
}

/** A textual model reading a JSON config and then its session, like the CLIP towers. */
class ConfiguredModel extends OnnxModel<number, ModelInputs, ConfiguredLoaded> {
  readonly identity: ModelIdentity = { task: "clip", type: "textual" };
  fetches = 0;
  releases = 0;

  constructor(
    context: ModelContext,
    private readonly deliveries: Delivery[],
  ) {
    super("stand-in", context);
  }

  protected override source(): ModelSource {
    return {
      label: "test deliveries",
      fetch: async (modelDir) => {
        const delivery = this.deliveries[Math.min(this.fetches++, this.deliveries.length - 1)]!;
        mkdirSync(join(modelDir, "textual"), { recursive: true });
        if (delivery.onnx) writeFileSync(join(modelDir, "textual", "model.onnx"), delivery.onnx);
        if (delivery.config !== undefined) writeFileSync(join(modelDir, "textual", "config.json"), delivery.config);
      },
    };
  }

  protected async loadFrom(modelDir: string): Promise<ConfiguredLoaded> {
    const config = JSON.parse(await readFile(join(modelDir, "textual", "config.json"), "utf8")) as { contextLength: number };
    return { config, session: await this.openSession(modelDir) };
  }

  async predict(): Promise<number> {
    return this.loaded.config.contextLength;
  }

  protected override async release(loaded: ConfiguredLoaded): Promise<void> {
    this.releases++;
    await super.release(loaded);
  }
}

function modelWith(deliveries: Delivery[]): { model: ConfiguredModel; store: ModelStore } {
  const cacheFolder = tempDir();
  const settings = loadSettings({ MACHINE_LEARNING_CACHE_FOLDER: cacheFolder });
  const store = new ModelStore({ cacheFolder, revision: "main", offline: false });
  const context: ModelContext = {
    settings,
    store,
    pool: undefined as unknown as TaskPool, // this model runs no kernels
    session: { inferenceThreads: 1, intraOpThreads: 1, interOpThreads: 1, arena: false, deviceId: "0" },
    inference: new InferenceThreads(),
  };
  return { model: new ConfiguredModel(context, deliveries), store };
}

const GOOD: Delivery = { onnx: VALID_ONNX, config: '{"contextLength":77}' };

describe("loading a model", () => {
  test("a model file that is not ONNX is deleted, fetched again and loaded", async () => {
    const { model } = modelWith([{ ...GOOD, onnx: NOT_ONNX }, GOOD]);
    await model.load();
    expect(model.fetches).toBe(2);
    expect(await model.predict()).toBe(77);
    await model.unload();
  });

  test("a file the model reads that is missing counts as a file error too", async () => {
    const { model } = modelWith([{ onnx: VALID_ONNX }, GOOD]);
    await model.load();
    expect(model.fetches).toBe(2);
    await model.unload();
  });

  test("files still broken after the one re-download fail the load, naming the model", async () => {
    const { model } = modelWith([{ ...GOOD, onnx: NOT_ONNX }]);
    const failure = model.load();
    await expect(failure).rejects.toBeInstanceOf(ModelLoadError);
    await expect(failure).rejects.toThrow("Failed to load model 'stand-in': Load model from");
    expect(model.fetches).toBe(2);
  });

  test("an error that is not about the files fails at once: no download wasted, the files kept", async () => {
    const { model, store } = modelWith([{ ...GOOD, config: "{ not json" }, GOOD]);
    await expect(model.load()).rejects.toThrow("Failed to load model 'stand-in'");
    expect(model.fetches).toBe(1);
    expect(existsSync(join(store.directory("clip", "stand-in"), "textual", "model.onnx"))).toBe(true);
  });

  test("the loaded state lives from load to unload; a second load releases the first", async () => {
    const { model } = modelWith([GOOD]);
    await expect(model.predict()).rejects.toThrow("clip textual model 'stand-in' is not loaded");
    await model.load();
    await model.load();
    expect(model.releases).toBe(1);
    await model.unload();
    expect(model.releases).toBe(2);
    await expect(model.predict()).rejects.toThrow("is not loaded");
    await model.unload(); // nothing left to release
    expect(model.releases).toBe(2);
  });
});
