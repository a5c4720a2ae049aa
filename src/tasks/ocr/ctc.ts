/**
 * Greedy CTC decoding of the PP-OCR recogniser output and the character table it indexes, as
 * RapidOCR's `CTCLabelDecode` (and Immich's vendored `CtcDecoder`) do it.
 */
import { readFileSync } from "node:fs";
import { readOnnxMetadata } from "./onnx-metadata.ts";

/** PP-OCR exports embed their dictionary under this ONNX metadata key, one character per line. */
const METADATA_KEY = "character";

export interface DecodedLine {
  readonly text: string;
  /** Mean probability of the characters kept; 0 for an empty line. */
  readonly score: number;
}

/**
 * Decodes `probs` (`[batch, steps, classes]`, the recogniser's softmax output) with the table
 * `charset` (index 0 = blank). Per step the most probable class wins (first on ties); repeats
 * of the previous step's class are dropped, then blanks.
 */
export function ctcGreedyDecode(probs: Float32Array, batch: number, steps: number, classes: number, charset: string[]): DecodedLine[] {
  if (probs.length < batch * steps * classes) {
    throw new Error(`ctcGreedyDecode: got ${probs.length} values for ${batch}x${steps}x${classes}`);
  }
  const lines: DecodedLine[] = [];
  for (let b = 0; b < batch; b++) {
    let text = "";
    let sum = 0;
    let kept = 0;
    let previous = -1;
    for (let t = 0; t < steps; t++) {
      const base = (b * steps + t) * classes;
      let best = 0;
      for (let c = 1; c < classes; c++) if (probs[base + c]! > probs[base + best]!) best = c;
      if (best !== previous && best !== 0) {
        const char = charset[best];
        if (char === undefined) {
          throw new Error(`ctcGreedyDecode: class ${best} is outside a ${charset.length}-entry charset`);
        }
        text += char;
        sum += probs[base + best]!;
        kept++;
      }
      previous = best;
    }
    // Upstream averages in float32.
    lines.push({ text, score: kept === 0 ? 0 : Math.fround(sum / kept) });
  }
  return lines;
}

/**
 * The decoding table `["", ...dictionary, " "]` (blank first, space last, as PP-OCR models are
 * trained). The dictionary comes from the model's `character` metadata when it has one (RapidOCR
 * reads it there first), else from `dictionaryPath` (one character per line).
 */
export function loadCharset(modelBytes: Uint8Array, dictionaryPath?: string): string[] {
  const embedded = readOnnxMetadata(modelBytes).get(METADATA_KEY);
  if (embedded !== undefined) return charsetFromLines(embedded);
  if (dictionaryPath === undefined) {
    throw new Error(`OCR recognition model has no "${METADATA_KEY}" metadata and no dictionary file was given`);
  }
  return charsetFromLines(readFileSync(dictionaryPath, "utf8"));
}

/**
 * Decoding table from a dictionary text, split into lines the way Python's `str.splitlines`
 * (used by both RapidOCR and Immich) splits: on every Unicode line boundary, no empty last line.
 */
export function charsetFromLines(text: string): string[] {
  const lines = text.split(/\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]/);
  if (lines.at(-1) === "") lines.pop();
  return ["", ...lines, " "];
}
