/** Loaders for the OCR golden files written by `scripts/reference/ocr.py`. */
import { join } from "node:path";
import { repoRoot } from "../../support/fixtures.ts";

export const goldenDir = join(repoRoot, "test", "golden", "ocr");

export interface BoxesGolden {
  boxes: number[];
  scores: number[];
}

export interface PostprocessCase {
  name: string;
  width: number;
  height: number;
  origWidth: number;
  origHeight: number;
  /** Base64 of the uint8-quantised map; probability = byte / 255 in float32. */
  map: string;
  contours: number[][];
  /** cv2.boxPoints(cv2.minAreaRect(contour)) per contour. */
  rects: number[][];
  [result: `${"fast" | "slow"}_${string}`]: BoxesGolden;
}

export async function postprocessCases(): Promise<PostprocessCase[]> {
  return (await Bun.file(join(goldenDir, "postprocess.json")).json()).cases;
}

export function probabilityMap(c: PostprocessCase): Float32Array {
  const bytes = Buffer.from(c.map, "base64");
  return Float32Array.from(bytes, (q) => q / 255);
}

export interface PreprocessGolden {
  sizes: { width: number; height: number; maxResolution: number; expected: [number, number] }[];
  crops: {
    boxes: number[][];
    crops: string[];
    /** The same crops with the homography solved in float64 instead of upstream's float32 SVD. */
    exactCrops: string[];
    extraSizes: [number, number][];
    batches: Record<string, { indices: number[]; width: number; sum: number; samples: number[] }[]>;
  };
}

export async function preprocessGolden(): Promise<PreprocessGolden> {
  return Bun.file(join(goldenDir, "preprocess.json")).json();
}

export interface PhotoGolden {
  name: string;
  width: number;
  height: number;
  inputWidth: number;
  inputHeight: number;
  inputChannelMeans: number[];
  inputSamples: number[];
  mapMean: number;
  fast: BoxesGolden;
  slow: BoxesGolden;
}

export interface PhotosGolden {
  detector: string;
  maxResolution: number;
  boxThresh: number;
  photos: PhotoGolden[];
  photoCrops: { photo: string; boxes: number[]; crops: string[] };
}

export async function photosGolden(): Promise<PhotosGolden> {
  return Bun.file(join(goldenDir, "photos.json")).json();
}
