/**
 * The base every served model derives from, after upstream's `InferenceModel`: a model declares
 * its identity (task, type) and the types of its task whose outputs it consumes; the base owns
 * getting its files (download once), loading, and upstream's retry rule: a model whose files fail
 * to load is deleted, fetched again and loaded once more before the load is reported as failed.
 * Subclasses only read their files (`loadFrom`) and turn a payload into an output (`predict`).
 */
import { log } from "../log.ts";
import type { Settings } from "../config/settings.ts";
import type { WorkerPool } from "../runtime/worker-pool.ts";
import type { SessionSettings } from "../runtime/onnx-session.ts";
import { hubSource } from "./hub-source.ts";
import type { ModelIdentity, ModelType } from "./identity.ts";
import { errorMessage, type ModelSource, type ModelStore } from "./model-store.ts";
import type { RgbImage } from "../imaging/rgb-image.ts";

/** What a request carries to its models: the decoded image, or the query text. */
export type Payload = { readonly kind: "image"; readonly image: RgbImage } | { readonly kind: "text"; readonly text: string };

/** Free-form per-request options (`minScore`, `language`, …) as sent in `entries`. */
export type ModelOptions = Readonly<Record<string, unknown>>;

/** Everything a model needs from the process around it. */
export interface ModelContext {
  readonly settings: Settings;
  readonly store: ModelStore;
  readonly pool: WorkerPool;
  readonly session: SessionSettings;
}

export class ModelLoadError extends Error {
  constructor(readonly modelName: string, cause: unknown) {
    super(`Failed to load model '${modelName}': ${errorMessage(cause)}`, { cause });
    this.name = "ModelLoadError";
  }
}

/** A request that a model cannot serve (wrong payload kind, bad option): answered with 400. */
export class InvalidInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InvalidInputError";
  }
}

export abstract class InferenceModel<Output = unknown> {
  abstract readonly identity: ModelIdentity;
  /**
   * Types of the same task whose outputs `predict` receives, e.g. recognition needs detection.
   * Static so that a request can be checked before any model is created or loaded.
   */
  static readonly depends: readonly ModelType[] = [];

  constructor(
    readonly name: string,
    protected readonly context: ModelContext,
  ) {}

  /** Where this model's files come from; the Hub repository `<organization>/<name>` by default. */
  protected source(): ModelSource {
    const { settings } = this.context;
    return hubSource(
      { organization: settings.modelOrganization, revision: settings.modelRevision, endpoint: settings.hf.endpoint, token: settings.hf.token, network: settings.network },
      this.name,
    );
  }

  async load(): Promise<void> {
    const { store } = this.context;
    const dir = await store.ensure(this.identity, this.name, this.source());
    try {
      await this.loadFrom(dir);
      return;
    } catch (error) {
      log.warn(`Failed to load ${this.identity.type} model '${this.name}': ${errorMessage(error)}. Clearing cache.`);
      await this.unload().catch(() => {}); // whatever the failed attempt had opened; the load error is the one to report
    }
    await store.clear(this.identity.task, this.name);
    const fresh = await store.ensure(this.identity, this.name, this.source());
    try {
      await this.loadFrom(fresh);
    } catch (error) {
      await this.unload().catch(() => {});
      throw new ModelLoadError(this.name, error);
    }
  }

  /** Reads the model's files (session, tokenizer, configs) from its model folder. */
  protected abstract loadFrom(modelDir: string): Promise<void>;

  abstract predict(payload: Payload, options: ModelOptions, dependencies: ReadonlyMap<ModelType, unknown>): Promise<Output>;

  /** Releases sessions and buffers; the model may be loaded again later. */
  abstract unload(): Promise<void>;

  protected requireImage(payload: Payload): RgbImage {
    if (payload.kind !== "image") {
      throw new InvalidInputError(`${this.identity.task} ${this.identity.type} model '${this.name}' needs an image`);
    }
    return payload.image;
  }

  protected requireText(payload: Payload): string {
    if (payload.kind !== "text") {
      throw new InvalidInputError(`${this.identity.task} ${this.identity.type} model '${this.name}' needs text`);
    }
    return payload.text;
  }
}
