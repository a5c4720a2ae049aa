/** Model lifecycle: single-flight loads, TTL eviction, preloading, retry after a failed load. */
import { describe, expect, test } from "bun:test";
import { ModelCache } from "../../src/models/model-cache.ts";
import { InferenceModel } from "../../src/models/inference-model.ts";
import type { ModelIdentity } from "../../src/models/identity.ts";

class CountingModel extends InferenceModel<string> {
  readonly identity: ModelIdentity = { task: "clip", type: "textual" };
  loads = 0;
  unloads = 0;
  constructor(name: string, private readonly loadDelayMs = 20, private readonly failFirst = false) {
    super(name, undefined as never);
  }
  override async load(): Promise<void> {
    this.loads++;
    await Bun.sleep(this.loadDelayMs);
    if (this.failFirst && this.loads === 1) throw new Error("boom");
  }
  protected async loadFrom(): Promise<void> {}
  async predict(..._args: unknown[]): Promise<string> {
    return `${this.name}#${this.loads}`;
  }
  async unload(): Promise<void> {
    this.unloads++;
  }
}

const identity: ModelIdentity = { task: "clip", type: "textual" };

function cacheWith(options: { ttl?: number; failFirst?: boolean; now?: () => number } = {}) {
  const created: CountingModel[] = [];
  const cache = new ModelCache(
    (_, name) => {
      const model = new CountingModel(name, 20, options.failFirst && created.length === 0);
      created.push(model);
      return model;
    },
    { ttlSeconds: options.ttl ?? 0, sweepSeconds: 0.02, failureCooldownS: 60, ...(options.now ? { now: options.now } : {}) },
  );
  return { cache, created };
}

describe("model cache", () => {
  test("50 concurrent first requests share one model and one load", async () => {
    const { cache, created } = cacheWith();
    const results = await Promise.all(Array.from({ length: 50 }, () => cache.with(identity, "m", (model) => (model as CountingModel).predict())));
    expect(created).toHaveLength(1);
    expect(created[0]!.loads).toBe(1);
    expect(new Set(results)).toEqual(new Set(["m#1"]));
    await cache.close();
  });

  test("names are keyed after cleaning, types and tasks separately", async () => {
    const { cache, created } = cacheWith();
    await cache.with(identity, "ViT-B-32::openai", async () => {});
    await cache.with(identity, "ViT-B-32__openai", async () => {});
    await cache.with({ task: "clip", type: "visual" }, "ViT-B-32__openai", async () => {});
    expect(created).toHaveLength(2);
    await cache.close();
  });

  test("idle models are unloaded after the TTL; each use renews it", async () => {
    const { cache, created } = cacheWith({ ttl: 0.15 });
    await cache.with(identity, "m", async () => {});
    await Bun.sleep(100);
    await cache.with(identity, "m", async () => {}); // renews
    await Bun.sleep(100);
    expect(created[0]!.unloads).toBe(0);
    await Bun.sleep(200);
    expect(created[0]!.unloads).toBe(1);
    expect(cache.loaded()).toHaveLength(0);
    // The next request loads a fresh instance.
    await cache.with(identity, "m", async () => {});
    expect(created).toHaveLength(2);
    await cache.close();
  });

  test("a model with a request in flight is never unloaded", async () => {
    const { cache, created } = cacheWith({ ttl: 0.05 });
    await cache.with(identity, "m", async () => {
      await Bun.sleep(200); // four TTLs, with sweeps running meanwhile
      expect(created[0]!.unloads).toBe(0);
    });
    expect(created).toHaveLength(1);
    await cache.close();
  });

  test("preloaded models are pinned", async () => {
    const { cache, created } = cacheWith({ ttl: 0.05 });
    await cache.preload(identity, "pinned");
    await Bun.sleep(200);
    expect(created[0]!.unloads).toBe(0);
    expect(cache.loaded()[0]).toMatchObject({ name: "pinned", pinned: true });
    await cache.close();
  });

  test("close() unloads a model only after the requests using it have finished", async () => {
    const { cache, created } = cacheWith();
    let unloadsSeenInside = -1;
    const use = cache.with(identity, "m", async () => {
      await Bun.sleep(100);
      unloadsSeenInside = created[0]!.unloads;
    });
    await Bun.sleep(40); // loaded and in use
    await cache.close();
    await use;
    expect(unloadsSeenInside).toBe(0);
    expect(created[0]!.unloads).toBe(1);
  });

  test("a failed load is answered from memory during the cool-down, listed as failed, and retried after it", async () => {
    let now = 1000;
    const { cache, created } = cacheWith({ failFirst: true, now: () => now });
    await expect(cache.with(identity, "m", async () => {})).rejects.toThrow("boom");
    // Not tried again for every request: the same error at once, no new model.
    now += 59;
    await expect(cache.with(identity, "m", async () => {})).rejects.toThrow("boom");
    expect(created).toHaveLength(1);
    expect(cache.failed()).toEqual([{ key: expect.stringContaining("m"), error: "boom", retryInSeconds: 1 }]);
    now += 2;
    await cache.with(identity, "m", async () => {});
    expect(created).toHaveLength(2);
    expect(cache.failed()).toEqual([]);
    await cache.close();
  });

  test("memory is released after a load, and once after the last request ends, not while one runs", async () => {
    let loads = 0;
    let idles = 0;
    const cache = new ModelCache(() => new CountingModel("m", 1), {
      ttlSeconds: 0,
      sweepSeconds: 0,
      afterLoad: () => loads++,
      whenIdle: { seconds: 0.01, run: () => idles++ },
    });
    let finishFirst!: () => void;
    const first = cache.with(identity, "m", () => new Promise<void>((resolve) => (finishFirst = resolve)));
    const second = cache.with(identity, "m", async () => {});
    await second;
    await Bun.sleep(30);
    expect([loads, idles]).toEqual([1, 0]);
    finishFirst();
    await first;
    while (idles === 0) await Bun.sleep(5);
    await Bun.sleep(30);
    expect([loads, idles]).toEqual([1, 1]);
    await cache.close();
  });
});
