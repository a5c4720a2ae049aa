/**
 * The base every served model derives from, after upstream's `InferenceModel`: a model declares
 * its identity (task, type) and the types of its task whose outputs it consumes; the base owns
 * getting its files (download once), loading, and upstream's retry rule: a model whose files prove
 * unusable (file-error.ts) is deleted, fetched again and loaded once more before the load is
 * reported as failed. Subclasses read their files into one loaded state (`loadFrom`), turn a
 * payload into an output with it (`predict`), and release it (`release`).
 */
import { log } from "../log.ts";
import type { Settings } from "../config/settings.ts";
import type { InferenceThreads, SessionSettings } from "../runtime/onnx-session.ts";
import { hubSource } from "./hub-source.ts";
import type { ModelIdentity, ModelType } from "./identity.ts";
import { isModelFileError } from "./file-error.ts";
import { errorMessage, type ModelSource, type ModelStore } from "./model-store.ts";
import type { RgbImage } from "../imaging/rgb-image.ts";
import type { TaskPool } from "../tasks/kernels.ts";

/** What a request carries to its models: the decoded image, or the query text. */
export type Payload = { readonly kind: "image"; readonly image: RgbImage } | { readonly kind: "text"; readonly text: string };

/**
 * The outputs of other models of the same request that a model consumes, by their type (face
 * recognition: `{ detection: DetectedFaces }`). Typed per class, so that a pair whose hand-off
 * types differ fails tsc (the factory's tables check every pair, model-factory.ts).
 */
export type ModelInputs = Readonly<Partial<Record<ModelType, unknown>>>;

/** Free-form per-request options (`minScore`, `language`, …) as sent in `entries`. */
export type ModelOptions = Readonly<Record<string, unknown>>;

/** Everything a model needs from the process around it. */
export interface ModelContext {
  readonly settings: Settings;
  readonly store: ModelStore;
  readonly pool: TaskPool;
  readonly session: SessionSettings;
  /** The service's inference threads, where OnnxModel opens its sessions. */
  readonly inference: InferenceThreads;
}

export class ModelLoadError extends Error {
  constructor(
    readonly modelName: string,
    cause: unknown,
  ) {
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

/**
 * `Output`: what `predict` returns; `Inputs`: the outputs of other models it consumes (`depends`
 * names their types); `Loaded`: everything `loadFrom` reads (sessions, tokenizer, configs), held as
 * one object so that a model is either wholly loaded or not at all: no field can be missing while
 * another is set, and a request keeps the state it started with even if the model is unloaded.
 */
export abstract class InferenceModel<Output = unknown, Inputs extends ModelInputs = ModelInputs, Loaded = unknown> {
  abstract readonly identity: ModelIdentity;
  /**
   * Types of the same task whose outputs `predict` receives, e.g. recognition needs detection.
   * Static so that a request can be checked before any model is created or loaded.
   */
  static readonly depends: readonly ModelType[] = [];

  private state: Loaded | undefined;

  constructor(
    readonly name: string,
    protected readonly context: ModelContext,
  ) {}

  /** Where this model's files come from; the Hub repository `<organization>/<name>` by default. */
  protected source(): ModelSource {
    const { settings } = this.context;
    return hubSource(
      {
        organization: settings.modelOrganization,
        revision: settings.modelRevision,
        endpoint: settings.hf.endpoint,
        token: settings.hf.token,
        network: settings.network,
      },
      this.name,
    );
  }

  /** What `loadFrom` read; throws (naming the model) before a load or after an unload. */
  protected get loaded(): Loaded {
    if (this.state === undefined) throw new Error(`${this.identity.task} ${this.identity.type} model '${this.name}' is not loaded`);
    return this.state;
  }

  async load(): Promise<void> {
    const { store } = this.context;
    // A retried or repeated load must not leave what an earlier one opened behind.
    await this.unload();
    const dir = await store.ensure(this.identity, this.name, this.source());
    try {
      this.state = await this.loadFrom(dir);
      return;
    } catch (error) {
      if (!isModelFileError(error)) throw new ModelLoadError(this.name, error);
      log.warn(`Failed to load ${this.identity.type} model '${this.name}': ${errorMessage(error)}. Clearing cache.`);
    }
    await store.clear(this.identity.task, this.name);
    const fresh = await store.ensure(this.identity, this.name, this.source());
    try {
      this.state = await this.loadFrom(fresh);
    } catch (error) {
      throw new ModelLoadError(this.name, error);
    }
  }

  /**
   * Reads the model's files (session, tokenizer, configs) from its model folder. Opening what must
   * be released (a session, a worker) comes last, so that a failed load leaves nothing open.
   */
  protected abstract loadFrom(modelDir: string): Promise<Loaded>;

  abstract predict(payload: Payload, options: ModelOptions, inputs: Inputs): Promise<Output>;

  /** Releases sessions and buffers; the model may be loaded again later. */
  async unload(): Promise<void> {
    const state = this.state;
    this.state = undefined;
    if (state !== undefined) await this.release(state);
  }

  /** Frees what `loadFrom` opened. */
  protected abstract release(loaded: Loaded): Promise<void>;

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
