/** Model lifecycle: single-flight loads, TTL eviction, preloading, retry after a failed load. */
import { describe, expect, test } from "bun:test";
import { ModelCache } from "../../src/models/model-cache.ts";
import { InferenceModel } from "../../src/models/inference-model.ts";
import type { ModelIdentity } from "../../src/models/identity.ts";
import { waitUntil } from "../support/wait-until.ts";

/** Counts loads and unloads for the cache's bookkeeping; the load itself is tested in inference-model.test.ts. */
class CountingModel extends InferenceModel<string> {
  readonly identity: ModelIdentity = { task: "clip", type: "textual" };
  loads = 0;
  unloads = 0;
  constructor(
    name: string,
    private readonly loadDelayMs = 20,
    private readonly failFirst = false,
  ) {
    super(name, undefined as never);
  }
  override async load(): Promise<void> {
    this.loads++;
    await Bun.sleep(this.loadDelayMs); // a load that takes time, so that requests arrive during it
    if (this.failFirst && this.loads === 1) throw new Error("boom");
  }
  protected async loadFrom(): Promise<void> {}
  async predict(..._args: unknown[]): Promise<string> {
    return `${this.name}#${this.loads}`;
  }
  override async unload(): Promise<void> {
    this.unloads++;
  }
  protected async release(): Promise<void> {}
}

const identity: ModelIdentity = { task: "clip", type: "textual" };

/**
 * Sweeps are run by the test (`evictIdle`) at times it sets on the cache's clock; the cache's own
 * sweep timer is set far beyond any test.
 */
function cacheWith(options: { ttl?: number; failFirst?: boolean } = {}) {
  const created: CountingModel[] = [];
  const clock = { seconds: 0 };
  const cache = new ModelCache(
    (_, name) => {
      const model = new CountingModel(name, 20, options.failFirst && created.length === 0);
      created.push(model);
      return model;
    },
    { ttlSeconds: options.ttl ?? 0, sweepSeconds: 3600, failureCooldownS: 60, now: () => clock.seconds },
  );
  return { cache, created, clock };
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
    const { cache, created, clock } = cacheWith({ ttl: 10 });
    await cache.with(identity, "m", async () => {});
    clock.seconds = 8;
    expect(await cache.evictIdle()).toBe(0);
    await cache.with(identity, "m", async () => {}); // renews: idle from 8 s on
    clock.seconds = 16;
    expect(await cache.evictIdle()).toBe(0);
    expect(created[0]!.unloads).toBe(0);
    clock.seconds = 18.5;
    expect(await cache.evictIdle()).toBe(1);
    expect(created[0]!.unloads).toBe(1);
    expect(cache.loaded()).toHaveLength(0);
    // The next request loads a fresh instance.
    await cache.with(identity, "m", async () => {});
    expect(created).toHaveLength(2);
    await cache.close();
  });

  test("a model with a request in flight is never unloaded; its idle time starts when the request ends", async () => {
    const { cache, created, clock } = cacheWith({ ttl: 10 });
    await cache.with(identity, "m", async () => {
      clock.seconds = 40; // four TTLs inside one request
      expect(await cache.evictIdle()).toBe(0);
    });
    clock.seconds = 49;
    expect(await cache.evictIdle()).toBe(0);
    clock.seconds = 51;
    expect(await cache.evictIdle()).toBe(1);
    expect(created).toHaveLength(1);
    await cache.close();
  });

  test("preloaded models are pinned", async () => {
    const { cache, created, clock } = cacheWith({ ttl: 10 });
    await cache.preload(identity, "pinned");
    clock.seconds = 1000;
    expect(await cache.evictIdle()).toBe(0);
    expect(created[0]!.unloads).toBe(0);
    expect(cache.loaded()[0]).toMatchObject({ name: "pinned", pinned: true });
    await cache.close();
  });

  test("close() unloads a model only after the requests using it have finished", async () => {
    const { cache, created } = cacheWith();
    let inUse!: () => void;
    const using = new Promise<void>((resolve) => (inUse = resolve));
    let finish!: () => void;
    const finished = new Promise<void>((resolve) => (finish = resolve));
    let unloadsSeenInside = -1;
    const use = cache.with(identity, "m", async () => {
      inUse();
      await finished;
      unloadsSeenInside = created[0]!.unloads;
    });
    await using; // loaded and in use
    const closing = cache.close();
    await Bun.sleep(10); // a close that did not wait would have unloaded by now
    expect(created[0]!.unloads).toBe(0);
    finish();
    await Promise.all([use, closing]);
    expect(unloadsSeenInside).toBe(0);
    expect(created[0]!.unloads).toBe(1);
  });

  test("a failed load is answered from memory during the cool-down, listed as failed, and retried after it", async () => {
    const { cache, created, clock } = cacheWith({ failFirst: true });
    clock.seconds = 1000;
    await expect(cache.with(identity, "m", async () => {})).rejects.toThrow("boom");
    // Not tried again for every request: the same error at once, no new model.
    clock.seconds += 59;
    await expect(cache.with(identity, "m", async () => {})).rejects.toThrow("boom");
    expect(created).toHaveLength(1);
    expect(cache.failed()).toEqual([{ key: expect.stringContaining("m"), error: "boom", retryInSeconds: 1 }]);
    clock.seconds += 2;
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
      whenIdle: [{ seconds: 0.01, run: () => idles++ }],
    });
    let finishFirst!: () => void;
    const first = cache.with(identity, "m", () => new Promise<void>((resolve) => (finishFirst = resolve)));
    const second = cache.with(identity, "m", async () => {});
    await second;
    await Bun.sleep(30); // three idle delays: the callback would have run by now if the running request did not hold it off
    expect([loads, idles]).toEqual([1, 0]);
    finishFirst();
    await first;
    await waitUntil(() => idles > 0, "the idle callback");
    await Bun.sleep(30); // three idle delays more: a second callback would have run by now
    expect([loads, idles]).toEqual([1, 1]);
    await cache.close();
  });

  test("idle releases come in their order, and a request in between starts the idle clock again", async () => {
    const ran: Array<{ stage: string; at: number }> = [];
    const cache = new ModelCache(() => new CountingModel("m", 1), {
      ttlSeconds: 0,
      sweepSeconds: 0,
      whenIdle: [
        { seconds: 0.01, run: () => ran.push({ stage: "first", at: performance.now() }) },
        { seconds: 0.08, run: () => ran.push({ stage: "second", at: performance.now() }) },
      ],
    });
    await cache.with(identity, "m", async () => {});
    await waitUntil(() => ran.length === 1, "the first idle release");
    // Before the second is due: a request cancels it, and the clock starts again when it ends.
    await cache.with(identity, "m", async () => {});
    const secondRequestEnded = performance.now();
    await waitUntil(() => ran.length === 3, "both idle releases after the second request");
    expect(ran.map((r) => r.stage)).toEqual(["first", "first", "second"]);
    // Not the first request's timer (due 70 ms or less after the second request ended).
    expect(ran[2]!.at - secondRequestEnded).toBeGreaterThan(75);
    await cache.close();
  });
});
