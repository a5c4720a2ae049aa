/**
 * Shared helpers of the OpenCV-exactness tests: the deterministic noise images that
 * scripts/reference/faces.py feeds to cv2 (same integer hash, so no input images are stored),
 * and access to the golden outputs it wrote.
 */
import { join } from "node:path";
import type { RgbImage } from "../../../src/imaging/rgb-image.ts";
import { repoRoot } from "../../support/fixtures.ts";

const sharp = require("sharp");

export const goldenDir = join(repoRoot, "test/golden/faces");

/** Noise from a 32-bit integer hash of the byte index (mirrors `synthetic()` in faces.py). */
export function syntheticImage(width: number, height: number, seed: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < data.length; i++) {
    let h = (Math.imul(i, 0x9e3779b1) + seed) >>> 0;
    h ^= h >>> 16;
    h = Math.imul(h, 0x7feb352d) >>> 0;
    h ^= h >>> 15;
    h = Math.imul(h, 0x846ca68b) >>> 0;
    h ^= h >>> 16;
    data[i] = h & 0xff;
  }
  return { width, height, data };
}

/** Decodes an image file to interleaved RGB, as the service will. */
export async function readRgb(path: string): Promise<RgbImage> {
  const { data, info } = await sharp(path).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
}

/** Largest absolute per-byte difference, and how many bytes differ at all. */
export function compareImages(a: RgbImage, b: RgbImage): { maxDiff: number; differing: number } {
  if (a.width !== b.width || a.height !== b.height) throw new Error(`size ${a.width}x${a.height} vs ${b.width}x${b.height}`);
  let maxDiff = 0;
  let differing = 0;
  for (let i = 0; i < a.data.length; i++) {
    const d = Math.abs(a.data[i]! - b.data[i]!);
    if (d > 0) differing++;
    if (d > maxDiff) maxDiff = d;
  }
  return { maxDiff, differing };
}

/**
 * A 6000x4000 photo (72 MB of RGB, more than a default resample call may copy into WebAssembly)
 * of a 251-byte repeating pattern, made by doubling copies: filling it value by value takes a second.
 */
export function largePhoto(): RgbImage {
  const width = 6000;
  const height = 4000;
  const data = new Uint8Array(width * height * 3);
  let filled = 251;
  for (let i = 0; i < filled; i++) data[i] = (i * 7) % 251;
  for (; filled < data.length; filled *= 2) data.copyWithin(filled, 0, filled);
  return { width, height, data };
}
