/**
 * Greedy CTC decoding of the PP-OCR recogniser output and the character table it indexes, as
 * RapidOCR's `CTCLabelDecode` (and Immich's vendored `CtcDecoder`) do it.
 */
import { readFileSync } from "node:fs";
import type { BestClasses } from "../../runtime/best-class.ts";
import { readOnnxMetadata } from "./onnx-metadata.ts";

/** PP-OCR exports embed their dictionary under this ONNX metadata key, one character per line. */
const METADATA_KEY = "character";

export interface DecodedLine {
  readonly text: string;
  /** Mean probability of the characters kept; 0 for an empty line. */
  readonly score: number;
}

/**
 * Decodes the recogniser's output (`[batch, steps, classes]` softmax probabilities), reduced to
 * the best class per step (first on ties) and its probability (runtime/best-class.ts), with the
 * table `charset` (index 0 = blank): repeats of the previous step's class are dropped, then blanks.
 */
export function ctcGreedyDecode(steps: BestClasses, charset: string[]): DecodedLine[] {
  const [batch = 0, length = 0] = steps.dims;
  if (steps.dims.length !== 2 || steps.best.length !== batch * length) {
    throw new Error(`ctcGreedyDecode: expected [batch, steps] best classes, got ${steps.dims.join("x")}`);
  }
  const lines: DecodedLine[] = [];
  for (let b = 0; b < batch; b++) {
    let text = "";
    let sum = 0;
    let kept = 0;
    let previous = -1;
    for (let t = 0; t < length; t++) {
      const best = steps.best[b * length + t]!;
      if (best !== previous && best !== 0) {
        const char = charset[best];
        if (char === undefined) {
          throw new Error(`ctcGreedyDecode: class ${best} is outside a ${charset.length}-entry charset`);
        }
        text += char;
        sum += steps.score[b * length + t]!;
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
