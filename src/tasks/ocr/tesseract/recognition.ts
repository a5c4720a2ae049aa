/**
 * OCR recognition with Tesseract (`ocr`/`recognition`, model `tesseract` = English, or
 * `tesseract__<lang>`): one tesseract.js worker thread per loaded model reads the whole image
 * (its own line finding; the detection stage only passes the image on, see detection.ts) and
 * answers PP-OCR's response shape: lines with `textScore > minScore` (default 0.9, the server sends
 * 0.8), boxes normalised to 0–1.
 *
 * Language data: see tessdata-source.ts (English needs no download). Requests for one model queue
 * on its worker (Tesseract is single-threaded). At most MAX_TESSERACT_LANGUAGES languages are
 * loaded at once by a service: each is a thread and tens of MB (20 languages: 33 threads, 957 MiB).
 */
import { dirname } from "node:path";
import { InferenceModel, type ModelContext, type ModelOptions, type Payload } from "../../../models/inference-model.ts";
import type { ModelType } from "../../../models/identity.ts";
import { ModelFileError } from "../../../models/file-error.ts";
import { errorMessage, ModelUnavailableError, type ModelSource } from "../../../models/model-store.ts";
import { minScoreOption } from "../../../models/model-options.ts";
import type { DetectedText } from "../detection.ts";
import type { OcrLines } from "../recognition.ts";
import { pageLines } from "./page-lines.ts";
import { TesseractWorker } from "./tesseract-worker.ts";
import { tessdataSource, tesseractLanguage, traineddataPath } from "./tessdata-source.ts";

export const MAX_TESSERACT_LANGUAGES = 4;

/**
 * Languages whose worker is loaded or loading, per service: keyed by the context a service hands
 * every model it creates, so two services in one process never count each other's languages.
 */
const languagesByService = new WeakMap<ModelContext, Set<string>>();

function serviceLanguages(context: ModelContext): Set<string> {
  let languages = languagesByService.get(context);
  if (!languages) languagesByService.set(context, (languages = new Set()));
  return languages;
}

/** Mutable: a worker that failed a read is replaced in place for the requests that follow. */
interface TesseractLoaded {
  readonly dataDir: string;
  worker: Promise<TesseractWorker>;
  /** Bumped whenever the worker is replaced, so that requests failing together replace it once. */
  generation: number;
}

/**
 * Declares the detection stage's output as its input although it reads the whole image itself:
 * that dependency is what makes it the task's last model (see detection.ts).
 */
export class TesseractRecognitionModel extends InferenceModel<OcrLines, { readonly detection: DetectedText }, TesseractLoaded> {
  static override readonly depends: readonly ModelType[] = ["detection"];
  readonly identity = { task: "ocr", type: "recognition" } as const;
  private readonly language: string;
  /** The languages of the service this model belongs to. */
  private readonly loadedLanguages: Set<string>;
  /** While set, `release` is the load's own clean-up between attempts: the language stays counted. */
  private loading = false;

  constructor(name: string, context: ModelContext) {
    super(name, context);
    this.language = tesseractLanguage(name);
    this.loadedLanguages = serviceLanguages(context);
  }

  protected override source(): ModelSource {
    return tessdataSource(this.context.settings.tessdataUrl, this.language, this.context.settings.network);
  }

  override async load(): Promise<void> {
    // Checked before anything is fetched: a refused language costs nothing.
    const loadedLanguages = this.loadedLanguages;
    if (!loadedLanguages.has(this.language) && loadedLanguages.size >= MAX_TESSERACT_LANGUAGES) {
      throw new ModelUnavailableError(
        this.name,
        `${MAX_TESSERACT_LANGUAGES} Tesseract languages are loaded already (${[...loadedLanguages].join(", ")}); one is unloaded after MACHINE_LEARNING_MODEL_TTL idle`,
      );
    }
    loadedLanguages.add(this.language);
    this.loading = true;
    try {
      await super.load();
    } catch (error) {
      loadedLanguages.delete(this.language);
      throw error;
    } finally {
      this.loading = false;
    }
  }

  protected async loadFrom(modelDir: string): Promise<TesseractLoaded> {
    const dataDir = dirname(traineddataPath(modelDir, this.language));
    const worker = TesseractWorker.start(this.language, dataDir);
    // Tesseract failing to initialise means its language data is unusable: fetched again once.
    await worker.catch((error: unknown) => {
      throw new ModelFileError(errorMessage(error), { cause: error });
    });
    return { dataDir, worker, generation: 0 };
  }

  async predict(payload: Payload, options: ModelOptions): Promise<OcrLines> {
    const image = this.requireImage(payload);
    const minScore = minScoreOption(options, 0.9);
    const loaded = this.loaded;
    const generation = loaded.generation;
    let worker: TesseractWorker | undefined;
    try {
      worker = await loaded.worker;
      return pageLines(await worker.read(image), image.width, image.height, minScore);
    } catch (error) {
      // A failed read may leave the WebAssembly instance unusable (an abort is final), or the
      // thread may have died: later requests get a fresh worker.
      if (generation === loaded.generation) {
        loaded.generation++;
        loaded.worker = TesseractWorker.start(this.language, loaded.dataDir);
        loaded.worker.catch(() => {}); // reported to the request that awaits it
        void worker?.terminate();
      }
      throw error;
    }
  }

  protected async release(loaded: TesseractLoaded): Promise<void> {
    const worker = await loaded.worker.catch(() => undefined);
    await worker?.terminate();
    if (!this.loading) this.loadedLanguages.delete(this.language);
  }
}
