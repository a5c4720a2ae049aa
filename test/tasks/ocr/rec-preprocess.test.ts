/**
 * Recogniser input: perspective crops (PIL PERSPECTIVE/BICUBIC) and RapidOCR batching, against
 * the reference's PNGs and tensors for a deterministic pattern image.
 */
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { perspectiveCropPil, solveHomography } from "../../../src/imaging/pil-perspective.ts";
import type { RgbImage } from "../../../src/imaging/rgb-image.ts";
import { cropTextLines, recognitionBatches } from "../../../src/tasks/ocr/rec-preprocess.ts";
import { goldenDir, preprocessGolden } from "./golden.ts";
import { compareImages, readRgb } from "./images.ts";
import { pattern } from "./pattern.ts";

const golden = (await preprocessGolden()).crops;
const source = pattern(160, 120);

describe("cropTextLines vs PIL", () => {
  const boxes = Float32Array.from(golden.boxes.flat());
  const crops = cropTextLines(source, boxes);

  golden.crops.forEach((name, i) => {
    test(`${name}`, async () => {
      const want = await readRgb(join(goldenDir, "crops", name));
      const { maxDiff, differing } = compareImages(crops[i]!, want);
      // Upstream's homography comes from a float32 SVD, ours is exact. Where PIL samples right on
      // pixel centres (axis-aligned boxes) upstream's map is off by ~1e-6 px (e.g. a y offset of
      // 19.999998 for 20), so its truncated samples land one level away in most pixels.
      expect(maxDiff).toBeLessThanOrEqual(1);
      expect(differing).toBeLessThanOrEqual(want.data.length * 0.8);
    });
  });

  golden.exactCrops.forEach((name, i) => {
    test(`${name}: identical to PIL given an exact homography`, async () => {
      const want = await readRgb(join(goldenDir, "crops", name));
      expect(compareImages(crops[i]!, want)).toEqual({ maxDiff: 0, differing: 0 });
    });
  });

  test("a tall box is turned upright (rotated 90° counter-clockwise)", () => {
    expect([crops[2]!.width, crops[2]!.height]).toEqual([65, 20]);
  });
});

describe("perspectiveCropPil", () => {
  test("an axis-aligned box at integer corners is a plain copy", () => {
    const crop = perspectiveCropPil(source, [30, 20, 70, 20, 70, 45, 30, 45], 40, 25);
    for (let y = 0; y < 25; y++) {
      for (let x = 0; x < 40; x++) {
        for (let c = 0; c < 3; c++) {
          expect(crop.data[(y * 40 + x) * 3 + c]).toBe(source.data[((y + 20) * 160 + x + 30) * 3 + c]!);
        }
      }
    }
  });

  test("samples outside the source are black", () => {
    const crop = perspectiveCropPil(source, [150, 110, 170, 110, 170, 130, 150, 130], 20, 20);
    expect(Array.from(crop.data.subarray((19 * 20 + 19) * 3, (19 * 20 + 19) * 3 + 3))).toEqual([0, 0, 0]);
  });

  test("solveHomography maps the rectangle's corners onto the box", () => {
    const to = [10, 10, 90, 14, 88, 34, 8, 30];
    const [a0, a1, a2, a3, a4, a5, a6, a7] = solveHomography([0, 0, 80, 0, 80, 20, 0, 20], to);
    [
      [0, 0],
      [80, 0],
      [80, 20],
      [0, 20],
    ].forEach(([x, y], i) => {
      const den = a6 * x! + a7 * y! + 1;
      expect((a0 * x! + a1 * y! + a2) / den).toBeCloseTo(to[2 * i]!, 9);
      expect((a3 * x! + a4 * y! + a5) / den).toBeCloseTo(to[2 * i + 1]!, 9);
    });
  });
});

describe("recognitionBatches vs RapidOCR", () => {
  // The reference batched its own (PIL) crops, so batching is checked on those exact pixels.
  const pilCrops = Promise.all(golden.crops.map((name) => readRgb(join(goldenDir, "crops", name))));

  for (const [size, batches] of Object.entries(golden.batches)) {
    test(`batch size ${size}`, async () => {
      const crops = [...(await pilCrops), ...golden.extraSizes.map(([w, h]) => pattern(w, h))];
      const got = recognitionBatches(crops, Number(size));
      expect(got.map((b) => b.indices)).toEqual(batches.map((b) => b.indices));
      expect(got.map((b) => b.width)).toEqual(batches.map((b) => b.width));
      got.forEach((batch, k) => {
        const want = batches[k]!;
        expect(batch.tensor.length).toBe(batch.indices.length * 3 * 48 * batch.width);
        const samples = Array.from({ length: want.samples.length }, (_, i) => batch.tensor[i * 1009]!);
        expect(samples).toEqual(want.samples);
        const sum = batch.tensor.reduce((s, v) => s + v, 0);
        expect(sum).toBeCloseTo(want.sum, 2);
      });
    });
  }

  test("pattern-only batches are bit-exact", () => {
    const extras = golden.extraSizes.map(([w, h]) => pattern(w, h));
    const [batch] = recognitionBatches(extras, 6);
    // Sorted by aspect ratio: 12×30, 90×31, 300×40, 700×50 → target width int(48·14) = 672.
    expect(batch!.indices).toEqual([3, 1, 0, 2]);
    expect(batch!.width).toBe(672);
    // Row 0 (12×30 → 20×48): the padding right of the resized crop is zero.
    expect(batch!.tensor[20]).toBe(0);
    expect(batch!.tensor[19]).not.toBe(0);
  });

  test("channels are B, G, R and values are (p/255 − 0.5)/0.5", () => {
    const flat: RgbImage = { width: 48, height: 48, data: new Uint8Array(48 * 48 * 3).fill(0) };
    for (let i = 0; i < 48 * 48; i++) flat.data.set([255, 0, 51], i * 3);
    const [batch] = recognitionBatches([flat], 6);
    const plane = 48 * batch!.width;
    expect(batch!.tensor[0]).toBe(Math.fround(Math.fround(Math.fround(51 / 255) - 0.5) / 0.5));
    expect(batch!.tensor[plane]).toBe(-1);
    expect(batch!.tensor[2 * plane]).toBe(1);
  });

  test("no crops, no batches", () => {
    expect(recognitionBatches([], 6)).toEqual([]);
  });
});
