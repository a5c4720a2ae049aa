/**
 * OCR text recognition (`ocr`/`recognition`): each detected box cropped from the original image,
 * batched by aspect ratio (`MAX_BATCH_SIZE__OCR`, default 6), each batch shared out among the
 * inference threads, CTC-decoded; lines with `textScore > minScore` (default 0.9; the server
 * sends 0.8) are kept. Boxes come back normalised to 0–1 and flattened, 8 numbers per line, as
 * upstream answers.
 */
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { ModelOptions, Payload } from "../../models/inference-model.ts";
import { modelFilePath } from "../../models/cache-layout.ts";
import type { ModelType } from "../../models/identity.ts";
import type { ModelSource } from "../../models/model-store.ts";
import { OnnxModel, type OnnxLoaded } from "../../models/onnx-model.ts";
import { minScoreOption } from "../../models/model-options.ts";
import { threadShares } from "../../runtime/batch-buckets.ts";
import { ctcGreedyDecode, loadCharset } from "./ctc.ts";
import type { DetectedText } from "./detection.ts";
import { rapidOcrSource } from "./rapidocr-source.ts";
import { REC_HEIGHT, REC_MIN_WIDTH } from "./rec-preprocess.ts";

export interface OcrLines {
  text: string[];
  box: Float32Array;
  boxScore: Float32Array;
  textScore: Float32Array;
}

/** Dictionary file upstream's layout may hold next to a recogniser without `character` metadata. */
const DICTIONARY_FILES = ["dict.txt", "ppocr_keys.txt", "keys.txt"];

interface OcrRecognitionLoaded extends OnnxLoaded {
  /** The recogniser's characters by class index (CTC blank first). */
  readonly charset: string[];
}

export class OcrRecognitionModel extends OnnxModel<OcrLines, { readonly detection: DetectedText }, OcrRecognitionLoaded> {
  static override readonly depends: readonly ModelType[] = ["detection"];
  readonly identity = { task: "ocr", type: "recognition" } as const;
  // Hundreds of small activations a run, each its own allocation from the shared arena without a
  // plan: planned, saturated OCR ran 6–7 % faster (ort-capi.ts `useSharedArena`).
  protected override readonly memoryPattern = true;
  /** One line at the batch's least width. */
  protected override readonly layoutProbe = [1, 3, REC_HEIGHT, REC_MIN_WIDTH];

  protected override source(): ModelSource {
    return rapidOcrSource(this.context.settings.ocrModelUrl, this.name, this.context.settings.network);
  }

  protected async loadFrom(modelDir: string): Promise<OcrRecognitionLoaded> {
    const modelPath = modelFilePath(modelDir, "recognition");
    const dictionary = DICTIONARY_FILES.map((file) => join(modelDir, "recognition", file)).find((path) => existsSync(path));
    const charset = loadCharset(new Uint8Array(await readFile(modelPath)), dictionary);
    return { charset, session: await this.openSession(modelDir) };
  }

  async predict(payload: Payload, options: ModelOptions, { detection }: { readonly detection: DetectedText }): Promise<OcrLines> {
    const image = this.requireImage(payload);
    const minScore = minScoreOption(options, 0.9);
    const detected = detection.result;
    const count = detected.scores.length;
    if (count === 0) return { text: [], box: new Float32Array(0), boxScore: new Float32Array(0), textScore: new Float32Array(0) };

    const { session, charset } = this.loaded;
    const batches = await this.context.pool.run("ocr.recognitionBatches", {
      image,
      boxes: detected.boxes,
      maxBatch: this.context.settings.maxBatchSize.ocr,
    });
    const lines = new Array<{ text: string; score: number }>(count);
    // Each batch is split into one run per idle inference thread and all runs are queued at once,
    // so that a lone photo's lines keep every idle thread busy (its recogniser time halves on two),
    // while on a busy service a batch stays one run (runs that would wait gain nothing).
    // A run keeps its batch's width, so every line is padded as upstream pads it, and each line's
    // result is the same whichever run it went in (bit for bit: test/tasks/ocr/recognition-runs.test.ts).
    await Promise.all(
      batches.flatMap((batch) => {
        const lineValues = batch.tensor.length / batch.indices.length;
        let first = 0;
        return threadShares(batch.indices.length, session.parallelRunsNow).map(async (rows) => {
          const start = first;
          first += rows;
          // A view of the shared batch tensor, read in place by the inference thread.
          const data = batch.tensor.subarray(start * lineValues, (start + rows) * lineValues);
          // Only each step's best class leaves the inference thread, not the 18k-class probabilities.
          const [steps] = await session.runBestClasses({ [session.inputs[0]!.name]: { type: "float32", data, dims: [rows, 3, 48, batch.width] } });
          ctcGreedyDecode(steps!, charset).forEach((line, row) => (lines[batch.indices[start + row]!] = line));
        });
      }),
    );

    const kept = lines.map((line, i) => ({ line, i })).filter(({ line }) => line.score > minScore);
    const box = new Float32Array(kept.length * 8);
    kept.forEach(({ i }, k) => {
      for (let p = 0; p < 8; p++) box[k * 8 + p] = detected.boxes[i * 8 + p]! / (p % 2 === 0 ? image.width : image.height);
    });
    return {
      text: kept.map(({ line }) => line.text),
      box,
      boxScore: Float32Array.from(kept, ({ i }) => detected.scores[i]!),
      textScore: Float32Array.from(kept, ({ line }) => line.score),
    };
  }
}
