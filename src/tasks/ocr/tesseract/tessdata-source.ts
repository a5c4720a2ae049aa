/**
 * Tesseract's language data, the one file a tesseract model (`tesseract`, `tesseract__<lang>`)
 * needs, for both of its types. English ships with the service (the `@tesseract.js-data/eng`
 * package), so OCR works with no download at all. Other languages are the files tesseract.js itself
 * downloads by default (jsDelivr's copy of the `@tesseract.js-data/<lang>` packages, LSTM-only
 * "best_int" data), fetched once into `<model dir>/recognition/<lang>.traineddata.gz`;
 * `MACHINE_LEARNING_OCR_TESSDATA_URL` points at a mirror of the same tree.
 */
import { join } from "node:path";
import { log } from "../../../log.ts";
import type { ModelSource } from "../../../models/model-store.ts";
import { fetchVerified } from "../../../models/url-download.ts";
import type { FetchPolicy } from "../../../net/fetch-with-timeouts.ts";
import { embeddedPath } from "../../../native/loader.ts";

const DEFAULT_TESSDATA_BASE = "https://cdn.jsdelivr.net/npm/@tesseract.js-data";

/** tesseract.js's own default for LSTM-only recognition (`OEM.LSTM_ONLY`). */
const TESSDATA_VARIANT = "4.0.0_best_int";
const ENGLISH = "eng";

/**
 * The English data: the single executable's embedded copy (extracted on first use), else the file
 * the `@tesseract.js-data/eng` package installed; undefined where neither exists. Resolved on use,
 * not at import, so that a build without it still starts.
 */
function englishFile(): string | undefined {
  const embedded = embeddedPath("tessdata/eng.traineddata.gz");
  if (embedded) return embedded;
  try {
    return require.resolve(`@tesseract.js-data/eng/${TESSDATA_VARIANT}/eng.traineddata.gz`);
  } catch {
    return undefined;
  }
}

/** `tesseract` → `eng`, `tesseract__deu` → `deu` (the registry has validated the name). */
export function tesseractLanguage(name: string): string {
  return name.split("__")[1] ?? ENGLISH;
}

function fileName(language: string): string {
  return `${language}.traineddata.gz`;
}

/** A language's data file: where `tessdataSource` puts it in the model folder, or the installed English. */
export function traineddataPath(modelDir: string, language: string): string {
  return (language === ENGLISH ? englishFile() : undefined) ?? join(modelDir, "recognition", fileName(language));
}

/** `baseUrl`: MACHINE_LEARNING_OCR_TESSDATA_URL, or undefined for tesseract.js's own CDN. */
export function tessdataSource(baseUrl: string | undefined, language: string, network: FetchPolicy): ModelSource {
  if (language === ENGLISH) {
    // Never downloaded: present where the package is installed, unavailable (503) where it is not.
    return {
      label: "the @tesseract.js-data/eng package",
      cachedFile: () => traineddataPath("", ENGLISH),
      fetch: async () => {
        throw new Error("English comes with the @tesseract.js-data/eng package, which is not installed");
      },
    };
  }
  const url = `${(baseUrl ?? DEFAULT_TESSDATA_BASE).replace(/\/+$/, "")}/${language}/${TESSDATA_VARIANT}/${fileName(language)}`;
  return {
    label: url,
    mirrorSetting: "MACHINE_LEARNING_OCR_TESSDATA_URL",
    // Both types are cached once the one data file is: detection needs no file of its own.
    cachedFile: () => join("recognition", fileName(language)),
    async fetch(modelDir: string): Promise<void> {
      log.info(`Downloading tesseract language data '${language}' from ${url}`);
      await fetchVerified(url, traineddataPath(modelDir, language), undefined, network);
    },
  };
}
