/**
 * Tesseract's files, embedded in every executable (they are the same on every platform) and
 * extracted on first use: the English language data, so OCR's fallback needs no download, and the
 * LSTM-only WebAssembly builds of tesseract.js-core (the only ones the service starts), which its
 * Emscripten loader reads from disk. `scripts/build.ts` points that loader at the extracted copies.
 */
import englishData from "../../node_modules/@tesseract.js-data/eng/4.0.0_best_int/eng.traineddata.gz" with { type: "file" };
import coreLstm from "../../node_modules/tesseract.js-core/tesseract-core-lstm.wasm" with { type: "file" };
import coreSimdLstm from "../../node_modules/tesseract.js-core/tesseract-core-simd-lstm.wasm" with { type: "file" };
import coreRelaxedSimdLstm from "../../node_modules/tesseract.js-core/tesseract-core-relaxedsimd-lstm.wasm" with { type: "file" };

export const tesseractFiles: Readonly<Record<string, string>> = {
  "tessdata/eng.traineddata.gz": englishData,
  "tesseract.js-core/tesseract-core-lstm.wasm": coreLstm,
  "tesseract.js-core/tesseract-core-simd-lstm.wasm": coreSimdLstm,
  "tesseract.js-core/tesseract-core-relaxedsimd-lstm.wasm": coreRelaxedSimdLstm,
};
