/**
 * Loaded models and their lifetime. The first request for a model creates it and loads it;
 * concurrent first requests share that one load (and so one download and one session). A model
 * idle for `MODEL_TTL` seconds with no request in flight is unloaded, its native memory released;
 * preloaded models are pinned and never unloaded. Keys are name+type+task, as upstream's.
 * A model that fails to load is not tried again for a cool-down: requests meanwhile get the same
 * error at once, and /health lists it.
 */
import { outsideRequest } from "../runtime/request-scope.ts";
import { log } from "../log.ts";
import type { InferenceModel } from "./inference-model.ts";
import { identityKey, type ModelIdentity } from "./identity.ts";
import { cleanName } from "./registry.ts";
import { FAILURE_COOLDOWN_S, FailureCooldown } from "./failure-cooldown.ts";
import { ModelUnavailableError } from "./model-store.ts";

export type ModelFactory = (identity: ModelIdentity, name: string) => InferenceModel;

interface Entry {
  readonly model: InferenceModel;
  readonly ready: Promise<void>;
  inFlight: number;
  /** Set by `close()` while it waits for the requests still using this model. */
  whenIdle: (() => void) | undefined;
  lastUsed: number;
  pinned: boolean;
  loadedAt: number | undefined;
  loadSeconds: number | undefined;
}

export interface LoadedModelInfo {
  name: string;
  task: string;
  type: string;
  pinned: boolean;
  inFlight: number;
  idleSeconds: number;
  loadSeconds: number | undefined;
}

export interface ModelCacheOptions {
  /** Idle seconds before unloading; <= 0 disables unloading. */
  ttlSeconds: number;
  /** Seconds between idle sweeps. */
  sweepSeconds: number;
  /** Called after models were unloaded, to hand freed memory back to the OS. */
  afterEviction?: () => void;
  /** Called after a model loaded: loading frees as much as it keeps (the parsed file), to hand back too. */
  afterLoad?: () => void;
  /**
   * Each called once no model has been in use for its `seconds` (upstream releases memory 5 s
   * after the last request): what requests freed (activations, images) goes back to the OS while
   * idle, the cheap to take back first.
   */
  whenIdle?: ReadonlyArray<{ seconds: number; run: () => void }>;
  /** Seconds a failed load is answered from memory (default FAILURE_COOLDOWN_S). */
  failureCooldownS?: number;
  now?: () => number;
}

export interface FailedLoadInfo {
  key: string;
  error: string;
  retryInSeconds: number;
}

export class ModelCache {
  private readonly entries = new Map<string, Entry>();
  private readonly sweeper: ReturnType<typeof setInterval> | undefined;
  private readonly now: () => number;
  private inUse = 0;
  private idleTimers: Array<ReturnType<typeof setTimeout>> = [];
  private readonly failedLoads: FailureCooldown<unknown>;

  constructor(
    private readonly factory: ModelFactory,
    private readonly options: ModelCacheOptions,
  ) {
    this.now = options.now ?? (() => performance.now() / 1000);
    this.failedLoads = new FailureCooldown(options.failureCooldownS, this.now);
    if (options.ttlSeconds > 0) {
      const every = options.sweepSeconds > 0 ? options.sweepSeconds : options.ttlSeconds;
      this.sweeper = setInterval(() => void this.evictIdle(), every * 1000);
      this.sweeper.unref?.();
    }
  }

  private key(identity: ModelIdentity, name: string): string {
    return `${identityKey(identity)}/${cleanName(name)}`;
  }

  /**
   * Runs `use` with the loaded model, loading it first if needed. The model cannot be unloaded
   * while `use` runs; its idle clock restarts when `use` ends.
   */
  async with<T>(identity: ModelIdentity, name: string, use: (model: InferenceModel) => Promise<T>): Promise<T> {
    const entry = this.acquire(identity, name);
    entry.inFlight++;
    this.inUse++;
    this.clearIdleTimers();
    try {
      await entry.ready;
      return await use(entry.model);
    } finally {
      entry.inFlight--;
      entry.lastUsed = this.now();
      if (entry.inFlight === 0) entry.whenIdle?.();
      if (--this.inUse === 0) this.armIdleTimers();
    }
  }

  private armIdleTimers(): void {
    // Shared work: it must not belong to the request that happened to finish last.
    this.idleTimers = (this.options.whenIdle ?? []).map(({ seconds, run }) => outsideRequest(() => setTimeout(run, seconds * 1000)));
    for (const timer of this.idleTimers) timer.unref?.();
  }

  private clearIdleTimers(): void {
    for (const timer of this.idleTimers) clearTimeout(timer);
    this.idleTimers = [];
  }

  /** Loads a model that must stay resident (the PRELOAD__* settings). */
  async preload(identity: ModelIdentity, name: string): Promise<void> {
    const entry = this.acquire(identity, name);
    entry.pinned = true;
    await entry.ready;
  }

  /** The model instance for a key, created (not yet loaded) if absent; validates the name. */
  private acquire(identity: ModelIdentity, name: string): Entry {
    const key = this.key(identity, name);
    const existing = this.entries.get(key);
    if (existing) return existing;
    const failed = this.failedLoads.recent(key);
    if (failed) throw failed.error;
    const model = this.factory(identity, name);
    const started = this.now();
    const entry: Entry = {
      model,
      // Loaded for every request that will use it, so not abandoned with the one that asked first.
      ready: outsideRequest(() => model.load()),
      inFlight: 0,
      whenIdle: undefined,
      lastUsed: started,
      pinned: false,
      loadedAt: undefined,
      loadSeconds: undefined,
    };
    this.entries.set(key, entry);
    entry.ready.then(
      () => {
        entry.loadedAt = this.now();
        entry.loadSeconds = entry.loadedAt - started;
        this.options.afterLoad?.();
        log.info(`Loaded ${identity.task} ${identity.type} model '${name}' in ${entry.loadSeconds.toFixed(2)} s`);
      },
      (error) => {
        // Forgotten, so that a request after the cool-down tries again from scratch.
        if (this.entries.get(key) === entry) this.entries.delete(key);
        // A model the store cannot fetch: the store has its own cool-down (a folder copied into
        // the cache is served at once) and has logged it.
        if (error instanceof ModelUnavailableError) return;
        this.failedLoads.record(key, error);
        log.error(`${error instanceof Error ? error.message : String(error)} (next attempt in ${this.options.failureCooldownS ?? FAILURE_COOLDOWN_S} s)`);
      },
    );
    return entry;
  }

  /** Unloads every unpinned model idle for longer than the TTL. Returns how many were unloaded. */
  async evictIdle(): Promise<number> {
    const now = this.now();
    const victims: Array<[string, Entry]> = [];
    for (const [key, entry] of this.entries) {
      if (entry.pinned || entry.inFlight > 0 || entry.loadedAt === undefined) continue;
      if (now - entry.lastUsed > this.options.ttlSeconds) victims.push([key, entry]);
    }
    for (const [key, entry] of victims) {
      this.entries.delete(key);
      await entry.model.unload();
      log.info(`Unloaded ${entry.model.identity.task} ${entry.model.identity.type} model '${entry.model.name}' after ${this.options.ttlSeconds} s idle`);
    }
    if (victims.length > 0) this.options.afterEviction?.();
    return victims.length;
  }

  loaded(): LoadedModelInfo[] {
    const now = this.now();
    return [...this.entries.values()]
      .filter((entry) => entry.loadedAt !== undefined)
      .map((entry) => ({
        name: entry.model.name,
        task: entry.model.identity.task,
        type: entry.model.identity.type,
        pinned: entry.pinned,
        inFlight: entry.inFlight,
        idleSeconds: Math.max(0, now - entry.lastUsed),
        loadSeconds: entry.loadSeconds,
      }));
  }

  /** Models whose last load failed and that are not tried again yet (for /health). */
  failed(): FailedLoadInfo[] {
    return this.failedLoads.all().map(({ key, error, retryInSeconds }) => ({
      key,
      error: error instanceof Error ? error.message : String(error),
      retryInSeconds,
    }));
  }

  /** Unloads everything (shutdown), each model once the requests still using it have finished. */
  async close(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    this.clearIdleTimers();
    const all = [...this.entries.values()];
    this.entries.clear();
    const drained = (entry: Entry) => (entry.inFlight === 0 ? Promise.resolve() : new Promise<void>((resolve) => (entry.whenIdle = resolve)));
    await Promise.allSettled(all.map((entry) => entry.ready.then(() => drained(entry)).then(() => entry.model.unload())));
  }
}
