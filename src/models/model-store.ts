/**
 * The on-disk model cache: knows whether a model's files are present, fetches them once when they
 * are not (concurrent callers share one download), and clears a model folder whose files proved
 * unusable so that it can be fetched again. A failed fetch is remembered for a cool-down
 * (`failure-cooldown.ts`): logged once as a warning, answered again without asking the source.
 */
import { existsSync, lstatSync } from "node:fs";
import { rm } from "node:fs/promises";
import { relative, resolve } from "node:path";
import { log } from "../log.ts";
import { modelDirectory, modelFilePath, type CacheLayoutOptions } from "./cache-layout.ts";
import { FAILURE_COOLDOWN_S, FailureCooldown } from "./failure-cooldown.ts";
import type { ModelIdentity } from "./identity.ts";

/** Where a model's files come from (the Hub for CLIP and faces; other sources plug in here). */
export interface ModelSource {
  /** Human-readable origin for logs and errors, e.g. `immich-app/buffalo_l@main`. */
  readonly label: string;
  /** Writes the files of `identity.type` (and the model-root files) into `modelDir`. */
  fetch(modelDir: string, identity: ModelIdentity): Promise<void>;
  /**
   * The file whose presence means `identity.type` is cached, relative to the model folder (or
   * absolute, for a file installed with the service), for models that are not ONNX (tesseract's
   * language data). Upstream's `<type>/model.onnx` when absent.
   */
  cachedFile?(identity: ModelIdentity): string;
  /** The setting that points this source at a mirror (`HF_ENDPOINT` when absent), for the remedy a failure suggests. */
  readonly mirrorSetting?: string;
}

/** Where the file that marks a model type as cached lives. */
function cachedPath(dir: string, identity: ModelIdentity, source: ModelSource | undefined): string {
  const file = source?.cachedFile?.(identity);
  return file === undefined ? modelFilePath(dir, identity.type) : resolve(dir, file);
}

export class ModelUnavailableError extends Error {
  constructor(
    readonly modelName: string,
    readonly reason: string,
    /** When the next attempt will be made (the answer's `Retry-After`). */
    readonly retryAfterSeconds = FAILURE_COOLDOWN_S,
    options?: { cause?: unknown },
  ) {
    super(`Model '${modelName}' is not available: ${reason}`, options);
    this.name = "ModelUnavailableError";
  }
}

/** How to get a model onto a machine whose source is unreachable. */
function copyRemedy(name: string): string {
  return `run 'immich-ml download ${name}' on a connected machine and copy its cache folder here`;
}

export interface ModelStoreOptions extends CacheLayoutOptions {
  /** `HF_HUB_OFFLINE`: serve what is cached, never download. */
  offline: boolean;
  /** Told about every finished download attempt (for metrics). */
  onDownload?: (modelName: string, outcome: "success" | "failure") => void;
  /** Seconds a failed fetch is answered from memory (default FAILURE_COOLDOWN_S). */
  failureCooldownS?: number;
  /** Clock for the cool-down, in seconds (tests pass their own). */
  now?: () => number;
}

export class ModelStore {
  private readonly inFlight = new Map<string, Promise<string>>();
  private readonly failures: FailureCooldown<ModelUnavailableError>;

  constructor(readonly options: ModelStoreOptions) {
    this.failures = new FailureCooldown(options.failureCooldownS, options.now);
  }

  directory(task: ModelIdentity["task"], name: string): string {
    return modelDirectory(this.options, task, name);
  }

  /** Upstream's rule: a model is cached iff its `model.onnx` (or the source's own marker file) exists. */
  isCached(identity: ModelIdentity, name: string, source?: ModelSource): boolean {
    return existsSync(cachedPath(this.directory(identity.task, name), identity, source));
  }

  /** Returns the model folder once `<type>/model.onnx` (or the source's marker) is present, downloading it if needed. */
  ensure(identity: ModelIdentity, name: string, source: ModelSource): Promise<string> {
    const dir = this.directory(identity.task, name);
    const key = cachedPath(dir, identity, source);
    if (existsSync(key)) return Promise.resolve(dir);
    const running = this.inFlight.get(key);
    if (running) return running;
    const failed = this.failures.recent(key);
    if (failed) return Promise.reject(new ModelUnavailableError(name, failed.error.reason, failed.retryInSeconds));
    const download = this.download(dir, identity, name, source)
      .catch((error: unknown) => {
        if (error instanceof ModelUnavailableError) {
          this.failures.record(key, error);
          // Expected where the network is restricted: one line per cool-down, no stack.
          log.warn(`${error.message} (next attempt in ${error.retryAfterSeconds} s)`);
        }
        throw error;
      })
      .finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, download);
    return download;
  }

  private async download(dir: string, identity: ModelIdentity, name: string, source: ModelSource): Promise<string> {
    // Answers name folders relative to the cache: its absolute path is nobody else's business.
    const where = relative(this.options.cacheFolder, dir);
    if (this.options.offline) {
      throw new ModelUnavailableError(name, `it is not cached (${where} in the cache folder) and downloads are disabled (HF_HUB_OFFLINE); ${copyRemedy(name)}`);
    }
    try {
      await source.fetch(dir, identity);
      this.options.onDownload?.(name, "success");
    } catch (error) {
      this.options.onDownload?.(name, "failure");
      const mirror = source.mirrorSetting ?? "HF_ENDPOINT";
      throw new ModelUnavailableError(
        name,
        `download from ${source.label} failed: ${errorMessage(error)}. Set ${mirror} to a reachable mirror, or HF_HUB_OFFLINE=1 to serve cached models only, or ${copyRemedy(name)}`,
        FAILURE_COOLDOWN_S,
        { cause: error },
      );
    }
    const marker = cachedPath(dir, identity, source);
    if (!existsSync(marker)) {
      throw new ModelUnavailableError(name, `${source.label} has no ${relative(dir, marker)}`);
    }
    return dir;
  }

  /** Deletes a model folder. Refuses to follow a symlink, as upstream refuses non-symlink-safe rmtree. */
  async clear(task: ModelIdentity["task"], name: string): Promise<void> {
    const dir = this.directory(task, name);
    if (!existsSync(dir)) {
      log.warn(`Attempted to clear cache for model '${name}', but cache directory does not exist`);
      return;
    }
    if (lstatSync(dir).isSymbolicLink()) {
      throw new Error(`Refusing to clear cache for model '${name}': ${dir} is a symbolic link`);
    }
    await rm(dir, { recursive: true, force: true });
    log.info(`Cleared cache directory for model '${name}'.`);
  }
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
