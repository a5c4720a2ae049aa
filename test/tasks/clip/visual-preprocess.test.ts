/**
 * CLIP visual pre-processing against upstream's Python transform. Goldens come from
 * scripts/reference/clip_preprocess.py (Pillow 9.4 + numpy). Synthetic inputs always run; the
 * photo cases need ../shared/fixtures.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { resizePilWindow } from "../../../src/imaging/pil-resample.ts";
import type { RgbImage } from "../../../src/imaging/rgb-image.ts";
import { clipResizeCrop, clipVisualInput, parseClipPreprocessConfig, type ClipPreprocessConfig } from "../../../src/tasks/clip/visual-preprocess.ts";
import { clearTensorPool, recycleTensor } from "../../../src/runtime/tensor-pool.ts";
import { describeWithFixtures, fixturePath, repoRoot } from "../../support/fixtures.ts";

const sharp = require("sharp");

interface GoldenCase {
  name: string;
  /** Relative to the golden folder, or `fixture:<path under ../shared/fixtures>`. */
  input: string;
  decoded: [number, number];
  decodedSha256: string;
  resized: [number, number];
  size: number;
  mean: [number, number, number];
  std: [number, number, number];
  expected: string;
  tensorSha256: string;
}

const goldenDir = join(repoRoot, "test/golden/clip");
const cases = JSON.parse(readFileSync(join(goldenDir, "manifest.json"), "utf8")) as GoldenCase[];

/** Decodes like upstream's `Image.open(...).convert("RGB")`: alpha dropped, grey/palette expanded. */
async function decodeRgb(path: string): Promise<RgbImage> {
  const { data, info } = await sharp(path).removeAlpha().toColourspace("srgb").raw().toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) throw new Error(`${path}: decoded to ${info.channels} channels`);
  return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
}

function sha256(bytes: ArrayBufferView): string {
  return new Bun.CryptoHasher("sha256").update(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)).digest("hex");
}

/** The normalised tensor computed plainly in float64 from PIL's crop: an independent yardstick. */
function referenceTensor(crop: RgbImage, mean: number[], std: number[]): Float64Array {
  const plane = crop.width * crop.height;
  const out = new Float64Array(3 * plane);
  for (let i = 0; i < plane; i++) {
    for (let c = 0; c < 3; c++) out[c * plane + i] = (crop.data[i * 3 + c]! / 255 - mean[c]!) / std[c]!;
  }
  return out;
}

function compare(actual: Float32Array, expected: Float64Array): { cosine: number; maxAbsDiff: number } {
  let dot = 0;
  let na = 0;
  let nb = 0;
  let maxAbsDiff = 0;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const b = expected[i]!;
    dot += a * b;
    na += a * a;
    nb += b * b;
    maxAbsDiff = Math.max(maxAbsDiff, Math.abs(a - b));
  }
  return { cosine: dot / Math.sqrt(na * nb), maxAbsDiff };
}

function runCase(c: GoldenCase): void {
  test(c.name, async () => {
    const inputPath = c.input.startsWith("fixture:") ? fixturePath(c.input.slice("fixture:".length)) : join(goldenDir, c.input);
    const image = await decodeRgb(inputPath);
    // sharp (libvips, mozjpeg/libpng) must hand us exactly the pixels PIL decodes.
    expect([image.width, image.height]).toEqual(c.decoded);
    expect(sha256(image.data)).toBe(c.decodedSha256);

    const pilCrop = await decodeRgb(join(goldenDir, c.expected));
    const crop = clipResizeCrop(image, c.size);
    let mismatchedBytes = 0;
    for (let i = 0; i < pilCrop.data.length; i++) if (crop.data[i] !== pilCrop.data[i]) mismatchedBytes++;
    expect(mismatchedBytes).toBe(0);

    const cfg: ClipPreprocessConfig = { size: c.size, mean: c.mean, std: c.std };
    const tensor = clipVisualInput(image, cfg);
    expect(tensor.length).toBe(3 * c.size * c.size);
    const { cosine, maxAbsDiff } = compare(tensor, referenceTensor(pilCrop, c.mean, c.std));
    expect(cosine).toBeGreaterThanOrEqual(0.99999);
    expect(maxAbsDiff).toBeLessThanOrEqual(0.02);
    // The strict target: numpy's float32 tensor, bit for bit.
    expect(sha256(tensor)).toBe(c.tensorSha256);
  });
}

describe("clipVisualInput vs upstream (synthetic inputs)", () => {
  for (const c of cases.filter((c) => !c.input.startsWith("fixture:"))) runCase(c);

  test("a recycled tensor is reused and keeps nothing of the photo written into it before", async () => {
    const c = cases.find((c) => !c.input.startsWith("fixture:"))!;
    const cfg: ClipPreprocessConfig = { size: c.size, mean: c.mean, std: c.std };
    const image = await decodeRgb(join(goldenDir, c.input));
    const other: RgbImage = { ...image, data: image.data.map((v) => 255 - v) };
    clearTensorPool();
    const first = clipVisualInput(other, cfg);
    recycleTensor(first);
    const second = clipVisualInput(image, cfg);
    expect(second.buffer).toBe(first.buffer);
    expect(sha256(second)).toBe(c.tensorSha256);
  });
});

describeWithFixtures("clipVisualInput vs upstream (fixture photos)", () => {
  for (const c of cases.filter((c) => c.input.startsWith("fixture:"))) runCase(c);
});

describe("clipResizeCrop geometry", () => {
  /** Rows from dark to bright, the same in every column and channel. */
  const gradient = (width: number, height: number): RgbImage => ({
    width,
    height,
    data: Uint8Array.from({ length: width * height * 3 }, (_, i) => Math.floor(i / (width * 3)) * 36),
  });

  test("resizes the shorter side and truncates the longer one like Python int()", () => {
    // 7/3*224 = 522.67: int() gives 522 where rounding would give 523; the crop then starts at
    // int(522/2 - 112) = 149. A vertical gradient makes every row depend on that geometry.
    const tall = gradient(3, 7);
    const crop = clipResizeCrop(tall, 224);
    expect([crop.width, crop.height]).toEqual([224, 224]);
    const window = { left: 0, top: 149, width: 224, height: 224 };
    expect(crop.data).toEqual(resizePilWindow(tall, 224, 522, "bicubic", window).data);
    // The rounded geometry gives other pixels, so the comparison above tells the two apart.
    expect(crop.data).not.toEqual(resizePilWindow(tall, 224, 523, "bicubic", window).data);
  });

  test("centre crop keeps the middle window", () => {
    // A 6x2 image with a distinct left half and right half, cropped to 2x2 without resizing.
    const data = new Uint8Array(6 * 2 * 3);
    for (let y = 0; y < 2; y++) for (let x = 0; x < 6; x++) data.fill(x * 40, (y * 6 + x) * 3, (y * 6 + x) * 3 + 3);
    const crop = clipResizeCrop({ width: 6, height: 2, data }, 2);
    // int(6/2 - 2/2) = 2: columns 2 and 3.
    expect(Array.from(crop.data.subarray(0, 6))).toEqual([80, 80, 80, 120, 120, 120]);
  });
});

describe("parseClipPreprocessConfig", () => {
  const base = { size: 224, mean: [0.1, 0.2, 0.3], std: [0.4, 0.5, 0.6], interpolation: "bicubic", resize_mode: "shortest" };

  test("accepts size as an int or as [s, s]", () => {
    expect(parseClipPreprocessConfig(base)).toEqual({ size: 224, mean: [0.1, 0.2, 0.3], std: [0.4, 0.5, 0.6] });
    expect(parseClipPreprocessConfig({ ...base, size: [384, 384] }).size).toBe(384);
  });

  describeWithFixtures("fixture config", () => {
    test("reads the open_clip ViT-B-32 preprocess_cfg.json", () => {
      const json = JSON.parse(readFileSync(fixturePath("clip-config/preprocess_cfg.json"), "utf8"));
      expect(parseClipPreprocessConfig(json)).toEqual({
        size: 224,
        mean: [0.48145466, 0.4578275, 0.40821073],
        std: [0.26862954, 0.26130258, 0.27577711],
      });
    });
  });

  test("ignores interpolation and resize_mode, as upstream's legacy transform does", () => {
    const squash = parseClipPreprocessConfig({ ...base, interpolation: "bilinear", resize_mode: "squash" });
    const shortest = parseClipPreprocessConfig(base);
    expect(squash).toEqual(shortest);
    const image: RgbImage = { width: 40, height: 20, data: new Uint8Array(40 * 20 * 3).map((_, i) => (i * 37) & 255) };
    const small = { ...shortest, size: 16 };
    expect(clipVisualInput(image, { ...squash, size: 16 })).toEqual(clipVisualInput(image, small));
  });

  test("names the offending field", () => {
    expect(() => parseClipPreprocessConfig(null)).toThrow(/JSON object/);
    expect(() => parseClipPreprocessConfig({ ...base, size: undefined })).toThrow(/"size"/);
    expect(() => parseClipPreprocessConfig({ ...base, size: 0 })).toThrow(/"size"/);
    expect(() => parseClipPreprocessConfig({ ...base, size: [] })).toThrow(/"size"/);
    expect(() => parseClipPreprocessConfig({ ...base, size: 22.5 })).toThrow(/"size"/);
    expect(() => parseClipPreprocessConfig({ ...base, mean: [0.1, 0.2] })).toThrow(/"mean"/);
    expect(() => parseClipPreprocessConfig({ ...base, std: [0.4, "0.5", 0.6] })).toThrow(/"std"/);
    expect(() => parseClipPreprocessConfig({ ...base, std: [0.4, 0, 0.6] })).toThrow(/"std"/);
    expect(() => parseClipPreprocessConfig({ ...base, interpolation: 3 })).toThrow(/"interpolation"/);
    expect(() => parseClipPreprocessConfig({ ...base, resize_mode: null })).toThrow(/"resize_mode"/);
  });
});
