/**
 * The deterministic test image of `scripts/reference/ocr.py` (`pattern`): the same RGB bytes, so
 * golden crops and batches can be checked without shipping a photo.
 */
import type { RgbImage } from "../../../src/imaging/rgb-image.ts";

export function pattern(width: number, height: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 3;
      data[o] = (x * x + 3 * y) & 255;
      data[o + 1] = ((5 * x) ^ (9 * y)) & 255;
      data[o + 2] = ((x + y) * 11 + Math.floor((x * y) / 7)) & 255;
    }
  }
  return { width, height, data };
}
