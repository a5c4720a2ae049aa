/**
 * CLIP image pre-processing exactly as upstream's legacy transform (`OpenClipVisualEncoder`
 * with `resize_pil` / `crop_pil` / `to_numpy` / `normalize`), which every Immich release through
 * v2.x applies. Users' stored embeddings were computed with it, so it is reproduced bit for bit
 * (float32 tensor included) rather than "improved".
 */
import { resizePilRows, resizePilWindow, type PixelWindow } from "../../imaging/pil-resample.ts";
import { byteTable, type PlaneLayout } from "../../imaging/planar-row.ts";
import type { RgbImage } from "../../imaging/rgb-image.ts";
import { pooledFloat32 } from "../../runtime/tensor-pool.ts";

export interface ClipPreprocessConfig {
  /** Square input side of the visual model. */
  size: number;
  /** Per-channel (RGB) mean and std, applied after scaling pixels to 0..1. */
  mean: [number, number, number];
  std: [number, number, number];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function positiveInt(value: unknown): number | undefined {
  return typeof value === "number" && Number.isInteger(value) && value > 0 ? value : undefined;
}

function parseTriple(cfg: Record<string, unknown>, field: "mean" | "std"): [number, number, number] {
  const value = cfg[field];
  if (!Array.isArray(value) || value.length !== 3 || !value.every((v) => typeof v === "number" && Number.isFinite(v))) {
    throw new Error(`preprocess_cfg.json: "${field}" must be an array of 3 finite numbers, got ${JSON.stringify(value)}`);
  }
  if (field === "std" && value.some((v) => v === 0)) {
    throw new Error(`preprocess_cfg.json: "std" must not contain 0, got ${JSON.stringify(value)}`);
  }
  return [value[0], value[1], value[2]];
}

/**
 * Reads a parsed `visual/preprocess_cfg.json`.
 *
 * `size` is an int or `[s, s]`; like upstream only the first element of a list is used.
 * `interpolation` and `resize_mode` are read (and must be strings when present) but deliberately
 * ignored: upstream's legacy transform always does shortest-side + centre crop with PIL BICUBIC,
 * whatever they say (SigLIP configs with `squash` included), and matching its embeddings matters
 * more than honouring the config.
 */
export function parseClipPreprocessConfig(json: unknown): ClipPreprocessConfig {
  if (!isRecord(json)) throw new Error("preprocess_cfg.json: expected a JSON object");
  const rawSize = json.size;
  const size = positiveInt(Array.isArray(rawSize) ? rawSize[0] : rawSize);
  if (size === undefined) {
    throw new Error(`preprocess_cfg.json: "size" must be a positive integer or [s, s], got ${JSON.stringify(rawSize)}`);
  }
  for (const ignored of ["interpolation", "resize_mode"] as const) {
    if (json[ignored] !== undefined && typeof json[ignored] !== "string") {
      throw new Error(`preprocess_cfg.json: "${ignored}" must be a string, got ${JSON.stringify(json[ignored])}`);
    }
  }
  return { size, mean: parseTriple(json, "mean"), std: parseTriple(json, "std") };
}

/**
 * Upstream `resize_pil` + `crop_pil`: shorter side → `size` (longer side `int(long / short * size)`,
 * truncated), PIL BICUBIC, then the centred `size`×`size` window.
 */
export function clipResizeCrop(image: RgbImage, size: number): RgbImage {
  const { width, height, window } = clipResizeGeometry(image, size);
  return resizePilWindow(image, width, height, "bicubic", window);
}

/** The resized size and the centred window of `clipResizeCrop`. */
function clipResizeGeometry(image: RgbImage, size: number): { width: number; height: number; window: PixelWindow } {
  const { width, height } = image;
  // Same float expressions as Python: ratio first, then times size, then int() truncation.
  const [resizedW, resizedH] = width < height ? [size, Math.trunc((height / width) * size)] : [Math.trunc((width / height) * size), size];
  // int(w/2 - size/2): true division, truncation toward zero. The resized image is never smaller
  // than `size` (ratio >= 1), so the window always lies inside it.
  const left = Math.trunc(resizedW / 2 - size / 2);
  const top = Math.trunc(resizedH / 2 - size / 2);
  // Only the crop is computed: identical pixels, and extreme aspect ratios stay cheap.
  return { width: resizedW, height: resizedH, window: { left, top, width: size, height: size } };
}

/**
 * The visual model's `image` input: float32 NCHW `[1, 3, size, size]`, flattened.
 *
 * numpy computes `(img / 255.0 - mean) / std` entirely in float32 (mean/std are float32 arrays),
 * so every step is rounded to float32 here too. A JS double operation on float32 operands followed
 * by Math.fround equals the float32 operation (a double carries more than 2 × 24 + 2 bits, so
 * rounding twice cannot differ from rounding once), which makes the tensor bit-exact.
 */
export function clipVisualInput(image: RgbImage, cfg: ClipPreprocessConfig): Float32Array {
  const { size } = cfg;
  const plane = size * size;
  // Pooled: a fresh 602 KB array was faulted in page by page on every photo (tensor-pool.ts).
  // Every element is written below, as a reused tensor requires.
  const out = pooledFloat32(3 * plane);
  // Only 256 possible inputs per channel: compute each once.
  const table = (c: number) => {
    const mean = Math.fround(cfg.mean[c]!);
    const std = Math.fround(cfg.std[c]!);
    return byteTable((v) => Math.fround(Math.fround(Math.fround(v / 255) - mean) / std));
  };
  const layout: PlaneLayout = { channels: [0, 1, 2], tables: [table(0), table(1), table(2)] };
  const { width, height, window } = clipResizeGeometry(image, size);
  resizePilRows(image, width, height, "bicubic", window, { tensor: out, plane, start: 0, stride: size, layout });
  return out;
}
