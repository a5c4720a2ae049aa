/** DB post-processing against the numpy/cv2 reference, and upstream's box ordering rules. */
import { describe, expect, test } from "bun:test";
import type { PaddedMask } from "../../../src/tasks/ocr/cv-contours.ts";
import { dbPostprocess, dilatedTextMask } from "../../../src/tasks/ocr/db-postprocess.ts";
import { readingOrder } from "../../../src/tasks/ocr/reading-order.ts";
import { postprocessCases, probabilityMap } from "./golden.ts";

const cases = await postprocessCases();

describe("dilatedTextMask", () => {
  /** cv2.dilate's definition with a 2×2 kernel anchored at its centre: the max over (y-1..y, x-1..x). */
  function naive(pred: Float32Array, width: number, height: number): Uint8Array {
    const above = (x: number, y: number) => x >= 0 && y >= 0 && pred[y * width + x]! > Math.fround(0.3);
    return Uint8Array.from({ length: width * height }, (_, i) => {
      const [x, y] = [i % width, Math.floor(i / width)];
      return above(x, y) || above(x - 1, y) || above(x, y - 1) || above(x - 1, y - 1) ? 1 : 0;
    });
  }

  /** The mask inside the padded layout, and which padded rows hold a set pixel. */
  function unpadded({ labels, rowHasPixels }: PaddedMask, width: number, height: number) {
    const mask = Uint8Array.from({ length: width * height }, (_, i) => labels[(Math.floor(i / width) + 1) * (width + 2) + (i % width) + 1]!);
    const border = [...labels.subarray(0, width + 2), ...labels.subarray((height + 1) * (width + 2))];
    for (let y = 1; y <= height; y++) border.push(labels[y * (width + 2)]!, labels[y * (width + 2) + width + 1]!);
    return { mask, border: border.filter((v) => v !== 0).length, rows: Array.from(rowHasPixels, (v): number => (v ? 1 : 0)) };
  }
  const rowsOf = (mask: Uint8Array, width: number, height: number): number[] => [
    0,
    ...Array.from({ length: height }, (_, y) => (mask.subarray(y * width, (y + 1) * width).some((v) => v !== 0) ? 1 : 0)),
    0,
  ];

  test("is the 2×2 dilation of the thresholded map, edges and the float32 threshold included", () => {
    let seed = 11;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    // Sparse pixels above the threshold (so that dilation shows), some exactly at it, some just
    // above it in float32; negative values and NaNs, which compare as numpy compares them (a
    // group of four holding one is still read value by value).
    const values = [0.9, 0.3, Math.fround(0.3) + 2 ** -25, -0.9, Number.NaN, -0];
    for (const [width, height] of [
      [1, 1],
      [1, 7],
      [9, 1],
      [37, 23],
      [40, 12],
    ] as const) {
      const pred = Float32Array.from({ length: width * height }, () => (random() < 0.3 ? values[Math.floor(random() * values.length)]! : 0.1));
      pred[0] = 0.9; // the corner, where the left and upper neighbours do not exist
      pred[pred.length - 1] = 0.9; // the last pixel, whose dilation would spill past the map
      const want = naive(pred, width, height);
      const got = unpadded(dilatedTextMask(pred, width, height), width, height);
      expect(Array.from(got.mask)).toEqual(Array.from(want));
      expect(got.border).toBe(0);
      expect(got.rows).toEqual(rowsOf(want, width, height));
    }
  });

  test("a group of four with a negative value or a NaN beside text is not skipped", () => {
    for (const other of [-0.5, Number.NaN, -0]) {
      const pred = Float32Array.of(other, 0.9, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1);
      expect(Array.from(unpadded(dilatedTextMask(pred, 8, 1), 8, 1).mask)).toEqual([0, 1, 1, 0, 0, 0, 0, 0]);
    }
  });
});

describe("dbPostprocess vs the reference (synthetic maps)", () => {
  for (const c of cases) {
    for (const mode of ["fast", "slow"] as const) {
      for (const thresh of [0.5, 0.7]) {
        test(`${c.name}, ${mode}, boxThresh ${thresh}`, () => {
          const want = c[`${mode}_${thresh}`]!;
          const got = dbPostprocess(probabilityMap(c), c.width, c.height, c.origWidth, c.origHeight, {
            boxThresh: thresh,
            scoreMode: mode,
          });
          expect(Array.from(got.boxes)).toEqual(want.boxes);
          expect(got.scores.length).toBe(want.scores.length);
          got.scores.forEach((s, i) => expect(s).toBeCloseTo(want.scores[i]!, 6));
        });
      }
    }
  }

  test("every synthetic case yields boxes somewhere (the golden exercises all steps)", () => {
    for (const c of cases) expect(c["slow_0.5"]!.boxes.length).toBeGreaterThan(0);
  });
});

describe("dbPostprocess behaviour", () => {
  const blank = (w: number, h: number): Float32Array => new Float32Array(w * h);
  const paint = (map: Float32Array, w: number, x0: number, y0: number, x1: number, y1: number, p: number): void => {
    for (let y = y0; y <= y1; y++) for (let x = x0; x <= x1; x++) map[y * w + x] = p;
  };

  test("an empty map gives no boxes", () => {
    const got = dbPostprocess(blank(32, 32), 32, 32, 64, 64, { boxThresh: 0.5, scoreMode: "fast" });
    expect(got.boxes.length).toBe(0);
    expect(got.scores.length).toBe(0);
  });

  test("a rectangle grows by the unclip distance and scales to the original size", () => {
    const map = blank(64, 32);
    paint(map, 64, 10, 10, 39, 17, 0.9); // dilation adds a row and column: region 10..40 × 10..18
    const got = dbPostprocess(map, 64, 32, 128, 64, { boxThresh: 0.5, scoreMode: "fast" });
    // minAreaRect of the contour: 30×8 centred at (25, 14); grow = 30·8·1.6/38 ≈ 10.105 →
    // 40.105×18.105, corners (4.95, 4.95)…(45.05, 23.05), ×2 and rounded.
    expect(Array.from(got.boxes)).toEqual([10, 10, 90, 10, 90, 46, 10, 46]);
    expect(got.scores[0]).toBeGreaterThan(0.5);
  });

  test("boxThresh compares against the mean over the dilated region", () => {
    const map = blank(64, 32);
    paint(map, 64, 10, 10, 39, 17, 0.45);
    // The region grows by the dilation to 31×9 pixels, 240 of them at 0.45: mean ≈ 0.387.
    for (const scoreMode of ["fast", "slow"] as const) {
      expect(dbPostprocess(map, 64, 32, 64, 32, { boxThresh: 0.39, scoreMode }).boxes.length).toBe(0);
      const kept = dbPostprocess(map, 64, 32, 64, 32, { boxThresh: 0.38, scoreMode });
      expect(kept.scores[0]).toBeCloseTo((240 * Math.fround(0.45)) / 279, 6);
    }
  });

  test("regions narrower than 3 px are noise", () => {
    const map = blank(64, 32);
    paint(map, 64, 10, 10, 50, 10, 0.99); // 1 px high, 2 px after dilation
    expect(dbPostprocess(map, 64, 32, 64, 32, { boxThresh: 0.5, scoreMode: "fast" }).boxes.length).toBe(0);
  });

  test("coordinates are clipped to the image", () => {
    const map = blank(32, 32);
    paint(map, 32, 0, 0, 20, 7, 0.95);
    const got = dbPostprocess(map, 32, 32, 32, 32, { boxThresh: 0.5, scoreMode: "fast" });
    expect(got.boxes.length).toBe(8);
    for (const v of got.boxes) expect(v >= 0 && v <= 31).toBe(true);
    expect(got.boxes[0]).toBe(0);
    expect(got.boxes[1]).toBe(0);
  });

  test("scores stay with their boxes through the reordering", () => {
    const map = blank(64, 64);
    paint(map, 64, 5, 40, 30, 47, 0.7); // lower line, listed first by OpenCV
    paint(map, 64, 5, 10, 30, 17, 0.95); // upper line
    const got = dbPostprocess(map, 64, 64, 64, 64, { boxThresh: 0.5, scoreMode: "fast" });
    expect(got.scores.length).toBe(2);
    const upper = got.boxes[1]! < got.boxes[9]! ? 0 : 1;
    expect(got.scores[upper]).toBeGreaterThan(got.scores[1 - upper]!);
  });
});

describe("readingOrder (upstream sorted_boxes)", () => {
  const boxesAt = (topLefts: [number, number][]): Float32Array => {
    const out = new Float32Array(topLefts.length * 8);
    topLefts.forEach(([x, y], i) => out.set([x, y, x + 10, y, x + 10, y + 5, x, y + 5], i * 8));
    return out;
  };

  test("boxes already in y order: lines by 10 px gaps, then x within a line", () => {
    expect(
      readingOrder(
        boxesAt([
          [50, 0],
          [10, 3],
          [30, 20],
          [5, 25],
        ]),
      ),
    ).toEqual([1, 0, 3, 2]);
  });

  test("a gap of exactly 10 px starts a new line", () => {
    expect(
      readingOrder(
        boxesAt([
          [50, 0],
          [10, 10],
        ]),
      ),
    ).toEqual([0, 1]);
    expect(
      readingOrder(
        boxesAt([
          [50, 0],
          [10, 9],
        ]),
      ),
    ).toEqual([1, 0]);
  });

  test("boxes out of y order reproduce upstream's line_ids[y_order] lookup", () => {
    // numpy: y_order = [2, 1, 0]; line_ids = [0, 1, 2]; key = line_ids[y_order] * 1e6 + x
    //        = [2e6 + 5, 1e6 + 7, 0 + 9] → final order [2, 1, 0] → boxes [0, 1, 2].
    expect(
      readingOrder(
        boxesAt([
          [9, 40],
          [7, 20],
          [5, 0],
        ]),
      ),
    ).toEqual([0, 1, 2]);
  });

  test("no boxes", () => {
    expect(readingOrder(new Float32Array(0))).toEqual([]);
  });
});
