/**
 * Tesseract's page result → the OCR response's lines: each text line Tesseract found, kept when its
 * confidence (0–100, scaled to 0–1) is above `minScore`, with its axis-aligned box as four corners
 * (TL, TR, BR, BL) normalised to 0–1 like PP-OCR's. Tesseract scores a line once, so that score is
 * both `textScore` and `boxScore` (it has no separate detector score).
 */
import type { OcrLines } from "../recognition.ts";

/** The part of tesseract.js's `blocks` output read here. */
export interface TesseractPage {
  blocks: Array<{ paragraphs: Array<{ lines: TesseractLine[] }> }> | null;
}

export interface TesseractLine {
  text: string;
  confidence: number;
  bbox: { x0: number; y0: number; x1: number; y1: number };
}

export function pageLines(page: TesseractPage, width: number, height: number, minScore: number): OcrLines {
  const kept = (page.blocks ?? [])
    .flatMap((block) => block.paragraphs.flatMap((paragraph) => paragraph.lines))
    .map((line) => ({ text: line.text.trim(), score: line.confidence / 100, bbox: line.bbox }))
    .filter((line) => line.text.length > 0 && line.score > minScore);
  const box = new Float32Array(kept.length * 8);
  kept.forEach(({ bbox: { x0, y0, x1, y1 } }, i) => {
    box.set([x0 / width, y0 / height, x1 / width, y0 / height, x1 / width, y1 / height, x0 / width, y1 / height], i * 8);
  });
  const scores = Float32Array.from(kept, (line) => line.score);
  return { text: kept.map((line) => line.text), box, boxScore: scores, textScore: scores.slice() };
}
