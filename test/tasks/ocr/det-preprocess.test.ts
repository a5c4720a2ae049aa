/** OCR detector input: upstream's size rounding, normalisation quirk and channel order. */
import { describe, expect, test } from "bun:test";
import { detectionSize, ocrDetectionInput } from "../../../src/tasks/ocr/det-preprocess.ts";
import { preprocessGolden } from "./golden.ts";
import { pattern } from "./pattern.ts";
import { clearTensorPool, recycleTensor } from "../../../src/runtime/tensor-pool.ts";

const golden = await preprocessGolden();

describe("detectionSize", () => {
  test("matches the reference for every size case", () => {
    for (const c of golden.sizes) {
      const got = detectionSize(c.width, c.height, c.maxResolution);
      expect([got.width, got.height]).toEqual(c.expected);
    }
  });

  test("rounds x/32 half to even, like Python's round", () => {
    expect(detectionSize(1000, 48, 736).height).toBe(64); // 1.5 → 2
    expect(detectionSize(1000, 80, 736).height).toBe(64); // 2.5 → 2
    expect(detectionSize(1000, 112, 736).height).toBe(128); // 3.5 → 4
  });

  test("never enlarges", () => {
    expect(detectionSize(380, 254, 736)).toEqual({ width: 384, height: 256 });
  });

  test("a tiny maxResolution that rounds a side to 0 is an error, as in upstream", () => {
    expect(() => detectionSize(1000, 1000, 10)).toThrow();
  });
});

describe("ocrDetectionInput", () => {
  test("images under 32 px on a side have no text", () => {
    expect(ocrDetectionInput(pattern(31, 200), 736)).toBeNull();
    expect(ocrDetectionInput(pattern(200, 31), 736)).toBeNull();
  });

  test("BGR planes with the (p − 0.5) / 127.5 quirk", () => {
    const image = pattern(64, 32); // already a multiple of 32: no resampling
    const input = ocrDetectionInput(image, 736)!;
    expect([input.width, input.height]).toEqual([64, 32]);
    expect(input.tensor.length).toBe(3 * 64 * 32);
    const scale = Math.fround(1 / 127.5);
    const plane = 64 * 32;
    for (const i of [0, 1, 77, 1000, plane - 1]) {
      const [r, g, b] = [image.data[3 * i]!, image.data[3 * i + 1]!, image.data[3 * i + 2]!];
      expect(input.tensor[i]).toBe(Math.fround((b - 0.5) * scale));
      expect(input.tensor[plane + i]).toBe(Math.fround((g - 0.5) * scale));
      expect(input.tensor[2 * plane + i]).toBe(Math.fround((r - 0.5) * scale));
    }
    expect(Math.max(...input.tensor)).toBeLessThanOrEqual(2);
    expect(Math.min(...input.tensor)).toBeGreaterThanOrEqual(-0.004);
  });

  test("resizes to the snapped size", () => {
    const input = ocrDetectionInput(pattern(100, 50), 736)!;
    expect([input.width, input.height]).toEqual([96, 64]);
    expect(input.tensor.length).toBe(3 * 96 * 64);
  });

  test("a recycled tensor is rewritten whole: the same values as in a fresh one", () => {
    const other = pattern(100, 50);
    other.data.reverse(); // other pixels, same detector size
    clearTensorPool();
    const fresh = ocrDetectionInput(pattern(100, 50), 736)!.tensor.slice();
    const previous = ocrDetectionInput(other, 736)!.tensor;
    recycleTensor(previous);
    const reused = ocrDetectionInput(pattern(100, 50), 736)!.tensor;
    expect(reused.buffer).toBe(previous.buffer);
    expect(reused).toEqual(fresh);
  });
});
