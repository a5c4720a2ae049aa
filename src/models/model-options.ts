/** Options more than one task reads from a request entry's `options`. */
import { InvalidInputError, type ModelOptions } from "./inference-model.ts";

/** `minScore`, the threshold face detection and both OCR stages take: a number in [0, 1], else a 400. */
export function minScoreOption(options: ModelOptions, fallback: number): number {
  const value = options.minScore ?? fallback;
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0 || value > 1) {
    throw new InvalidInputError(`minScore must be a number between 0 and 1, got ${JSON.stringify(value)}`);
  }
  return value;
}
