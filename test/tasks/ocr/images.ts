/** Image helpers for the OCR tests: decoding with sharp and pixel comparison. */
import { expect } from "bun:test";
import type { RgbImage } from "../../../src/imaging/rgb-image.ts";

const sharp = require("sharp");

/** Decodes a PNG/JPEG file to RGB (no EXIF rotation, like upstream's PIL decode). */
export async function readRgb(path: string): Promise<RgbImage> {
  const { data, info } = await sharp(path).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data: new Uint8Array(data) };
}

/** Largest per-channel difference and how many channel values differ at all. */
export function compareImages(a: RgbImage, b: RgbImage): { maxDiff: number; differing: number } {
  expect([a.width, a.height]).toEqual([b.width, b.height]);
  let maxDiff = 0;
  let differing = 0;
  a.data.forEach((v, i) => {
    const d = Math.abs(v - b.data[i]!);
    if (d > 0) differing++;
    maxDiff = Math.max(maxDiff, d);
  });
  return { maxDiff, differing };
}
