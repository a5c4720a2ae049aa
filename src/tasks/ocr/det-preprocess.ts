/**
 * OCR detector input, as upstream's `TextDetector._transform` builds it: shrink (never enlarge)
 * so the shorter side is at most `maxResolution`, snap both sides to multiples of 32, resize with
 * PIL's LANCZOS, BGR channel order, NCHW float32.
 */
import { roundHalfEven } from "../../imaging/cv-round.ts";
import { resizePilRows } from "../../imaging/pil-resample.ts";
import { affineLayout } from "../../imaging/planar-row.ts";
import type { RgbImage } from "../../imaging/rgb-image.ts";
import { pooledFloat32 } from "../../runtime/tensor-pool.ts";

/** Upstream returns no text for images with a side under this many pixels. */
export const MIN_SIDE = 32;
const STRIDE = 32;
/**
 * Upstream's normalisation quirk: mean 0.5 is subtracted from 0–255 pixel values and the result
 * scaled by float32(1 / (0.5·255)), giving ≈[0, 2] rather than PaddleOCR's [−1, 1]. The
 * detector was trained on the latter, but Immich ships (and its boxes come from) the former.
 */
const MEAN = 0.5;
const SCALE = Math.fround(1 / 127.5);
/** Tensor planes B, G, R, each byte as `float32((p - 0.5) * SCALE)`. */
const LAYOUT = affineLayout({ offset: MEAN, scale: SCALE }, [2, 1, 0]);

export interface DetectionInput {
  /** `[1, 3, height, width]`, channels B, G, R. */
  readonly tensor: Float32Array;
  readonly width: number;
  readonly height: number;
}

/** Detector input size for an image, as upstream rounds it. */
export function detectionSize(width: number, height: number, maxResolution: number): { width: number; height: number } {
  const ratio = Math.min(maxResolution / (height < width ? height : width), 1);
  const size = { width: snap(Math.trunc(width * ratio)), height: snap(Math.trunc(height * ratio)) };
  // PIL refuses to resize to an empty image, so upstream fails the request here.
  if (size.width === 0 || size.height === 0) {
    throw new Error(`OCR detection: maxResolution ${maxResolution} shrinks ${width}x${height} to nothing`);
  }
  return size;
}

/** The detector tensor for `image`, or null when the image is too small to hold text. */
export function ocrDetectionInput(image: RgbImage, maxResolution: number): DetectionInput | null {
  if (image.width < MIN_SIDE || image.height < MIN_SIDE) return null;
  const { width, height } = detectionSize(image.width, image.height, maxResolution);
  const plane = width * height;
  // The resize writes every row of every plane, as a reused tensor requires.
  const tensor = pooledFloat32(3 * plane);
  resizePilRows(image, width, height, "lanczos", { left: 0, top: 0, width, height }, { tensor, plane, start: 0, stride: width, layout: LAYOUT });
  return { tensor, width, height };
}

/** `int(round(x / 32) * 32)` with Python's round-half-to-even (x = 48 → 64, x = 80 → 64). */
function snap(x: number): number {
  return roundHalfEven(x / STRIDE) * STRIDE;
}
