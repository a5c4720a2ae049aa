/**
 * OCR recognition with Tesseract (`ocr`/`recognition`, model `tesseract` = English, or
 * `tesseract__<lang>`): one tesseract.js worker thread per loaded model reads the whole image
 * (its own line finding; the detection stage only passes the image on, see detection.ts) and
 * answers PP-OCR's response shape: lines with `textScore > minScore` (default 0.9, the server sends
 * 0.8), boxes normalised to 0–1.
 *
 * Language data: see tessdata-source.ts (English needs no download). Requests for one model queue
 * on its worker (Tesseract is single-threaded).
 */
import { dirname } from "node:path";
import { InferenceModel, type ModelContext, type ModelOptions, type Payload } from "../../../models/inference-model.ts";
import type { ModelType } from "../../../models/identity.ts";
import type { ModelSource } from "../../../models/model-store.ts";
import { minScoreOption } from "../../facial-recognition/detection.ts";
import type { OcrLines } from "../recognition.ts";
import { pageLines } from "./page-lines.ts";
import { TesseractWorker } from "./tesseract-worker.ts";
import { tessdataSource, tesseractLanguage, traineddataPath } from "./tessdata-source.ts";

export class TesseractRecognitionModel extends InferenceModel<OcrLines> {
  static override readonly depends: readonly ModelType[] = ["detection"];
  readonly identity = { task: "ocr", type: "recognition" } as const;
  private readonly language: string;
  private dataDir = "";
  private worker: Promise<TesseractWorker> | undefined;
  /** Bumped whenever the worker is replaced, so that requests failing together replace it once. */
  private generation = 0;

  constructor(name: string, context: ModelContext) {
    super(name, context);
    this.language = tesseractLanguage(name);
  }

  protected override source(): ModelSource {
    return tessdataSource(this.context.settings.tessdataUrl, this.language, this.context.settings.network);
  }

  protected async loadFrom(modelDir: string): Promise<void> {
    this.dataDir = dirname(traineddataPath(modelDir, this.language));
    this.worker = TesseractWorker.start(this.language, this.dataDir);
    await this.worker;
  }

  async predict(payload: Payload, options: ModelOptions): Promise<OcrLines> {
    const image = this.requireImage(payload);
    const minScore = minScoreOption(options, 0.9);
    const generation = this.generation;
    let worker: TesseractWorker | undefined;
    try {
      worker = await this.worker!;
      return pageLines(await worker.read(image), image.width, image.height, minScore);
    } catch (error) {
      // A failed read may leave the WebAssembly instance unusable (an abort is final), or the
      // thread may have died: later requests get a fresh worker.
      if (generation === this.generation) {
        this.generation++;
        this.worker = TesseractWorker.start(this.language, this.dataDir);
        this.worker.catch(() => {}); // reported to the request that awaits it
        void worker?.terminate();
      }
      throw error;
    }
  }

  async unload(): Promise<void> {
    const worker = await this.worker?.catch(() => undefined);
    this.worker = undefined;
    await worker?.terminate();
  }
}
