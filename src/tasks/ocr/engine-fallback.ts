/**
 * `MACHINE_LEARNING_OCR_FALLBACK=tesseract`: a request whose PP-OCR models cannot be had (not
 * cached and not downloadable: offline, ModelScope unreachable) is run again with its OCR entries
 * renamed to `tesseract`, instead of failing with 503.
 *
 * Here, around the whole request, rather than in the model factory: a per-model fallback could pair
 * a PP-OCR detector with Tesseract or the reverse (one cached, the other not), and PP-OCR's
 * recogniser cannot read Tesseract's whole-image region. Renaming every OCR entry keeps the pair
 * whole. PP-OCR is tried again on every request, so the service returns to it by itself once the
 * models download. English only: the one language Tesseract reads without a download.
 */
import { log } from "../../log.ts";
import { ModelUnavailableError } from "../../models/model-store.ts";
import { lookupModel } from "../../models/registry.ts";
import type { PipelineFallback } from "../../pipeline/predict.ts";

const isPaddle = (name: string) => lookupModel(name)?.family === "paddle";

/** A runner that applies the fallback; it logs a warning the first time it falls back. */
export function ocrFallback(): PipelineFallback {
  let warned = false;
  return async (entries, run) => {
    try {
      return await run(entries);
    } catch (error) {
      if (!(error instanceof ModelUnavailableError) || !isPaddle(error.modelName)) throw error;
      if (!warned) {
        warned = true;
        log.warn(`${error.message}. Serving OCR with tesseract instead (MACHINE_LEARNING_OCR_FALLBACK); PP-OCR is tried again on each request.`);
      }
      return run(entries.map((entry) => (entry.task === "ocr" && isPaddle(entry.modelName) ? { ...entry, modelName: "tesseract" } : entry)));
    }
  };
}
