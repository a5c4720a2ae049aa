/**
 * The OpenCV primitives behind DB post-processing (findContours, minAreaRect/boxPoints,
 * fillPoly) against cv2's output on the reference maps, plus hand-checked cases.
 */
import { describe, expect, test } from "bun:test";
import { meanUnderPolygon } from "../../../src/tasks/ocr/box-score.ts";
import { findContoursSimple } from "../../../src/tasks/ocr/cv-contours.ts";
import { fillPolygon } from "../../../src/tasks/ocr/cv-fill-poly.ts";
import { boxPoints, minAreaRect } from "../../../src/tasks/ocr/cv-min-area-rect.ts";
import { postprocessCases, probabilityMap } from "./golden.ts";

const cases = await postprocessCases();

/** The reference's binary map: probability > 0.3, then a 2×2 dilation. */
function referenceMask(probs: Float32Array, width: number, height: number): Uint8Array {
  const above = Uint8Array.from(probs, (p) => (p > Math.fround(0.3) ? 1 : 0));
  const out = new Uint8Array(above.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let v = 0;
      for (const [dx, dy] of [
        [0, 0],
        [-1, 0],
        [0, -1],
        [-1, -1],
      ] as const) {
        const sx = x + dx;
        const sy = y + dy;
        if (sx >= 0 && sy >= 0) v |= above[sy * width + sx]!;
      }
      out[y * width + x] = v;
    }
  }
  return out;
}

/** Corner set as sorted pairs, so rectangles compare regardless of OpenCV's corner order. */
function cornerSet(points: ArrayLike<number>): number[][] {
  const pairs: number[][] = [];
  for (let i = 0; i < points.length; i += 2) pairs.push([points[i]!, points[i + 1]!]);
  return pairs.sort((a, b) => Math.round(a[0]! * 1e3) - Math.round(b[0]! * 1e3) || a[1]! - b[1]!);
}

function maskToText(mask: Uint8Array, width: number): string[] {
  const rows: string[] = [];
  for (let i = 0; i < mask.length; i += width) rows.push(Array.from(mask.subarray(i, i + width), (v) => (v ? "#" : ".")).join(""));
  return rows;
}

describe("findContoursSimple vs cv2.findContours(RETR_LIST, CHAIN_APPROX_SIMPLE)", () => {
  for (const c of cases) {
    test(`${c.name}: same contours, same order`, () => {
      const mask = referenceMask(probabilityMap(c), c.width, c.height);
      const got = findContoursSimple(mask, c.width, c.height).map((contour) => Array.from(contour));
      expect(got).toEqual(c.contours);
    });
  }

  test("a hole gives an outer and an inner border, listed in reverse discovery order", () => {
    // Outer border found first, hole border second → hole listed first. The hole border runs
    // through the ring's inner pixels, cutting the corners (8-connectivity). Values from cv2.
    const mask = Uint8Array.from([
      0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 0, 0, 1, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0, 1, 0, 0, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0,
    ]);
    const got = findContoursSimple(mask, 7, 6).map((c) => Array.from(c));
    expect(got).toEqual([
      [1, 2, 2, 1, 4, 1, 5, 2, 5, 3, 4, 4, 2, 4, 1, 3],
      [1, 1, 1, 4, 5, 4, 5, 1],
    ]);
  });

  test("an isolated pixel is a one-point contour; pixels on the image edge are ordinary", () => {
    const mask = Uint8Array.from([1, 0, 0, 0, 0, 1]);
    expect(findContoursSimple(mask, 3, 2).map((c) => Array.from(c))).toEqual([
      [2, 1],
      [0, 0],
    ]);
  });
});

describe("minAreaRect/boxPoints vs cv2", () => {
  for (const c of cases) {
    test(`${c.name}: same rectangle for every contour`, () => {
      c.contours.forEach((contour, i) => {
        const got = cornerSet(boxPoints(minAreaRect(contour)));
        const want = cornerSet(c.rects[i]!);
        for (let k = 0; k < 4; k++) {
          expect(got[k]![0]!).toBeCloseTo(want[k]![0]!, 4);
          expect(got[k]![1]!).toBeCloseTo(want[k]![1]!, 4);
        }
      });
    });
  }

  test("axis-aligned and 45° rectangles", () => {
    const axis = minAreaRect([2, 2, 2, 5, 10, 5, 10, 2]);
    expect([axis.cx, axis.cy, axis.width * axis.height]).toEqual([6, 3.5, 24]);
    const diamond = minAreaRect([5, 0, 10, 5, 5, 10, 0, 5]);
    expect(diamond.cx).toBeCloseTo(5, 5);
    expect(diamond.width).toBeCloseTo(Math.SQRT2 * 5, 5);
    expect(diamond.height).toBeCloseTo(Math.SQRT2 * 5, 5);
    expect(Math.abs(diamond.angle)).toBeCloseTo(45, 4);
  });

  test("collinear points give a zero-height rectangle", () => {
    const line = minAreaRect([0, 0, 4, 4, 2, 2]);
    expect(line.height).toBe(0);
    expect(line.width).toBeCloseTo(4 * Math.SQRT2, 5);
  });
});

describe("fillPolygon (cv2.fillPoly semantics)", () => {
  test("a triangle includes its 8-connected edges", () => {
    const mask = new Uint8Array(8 * 6);
    fillPolygon(mask, 8, 6, [1, 0, 6, 2, 2, 5]);
    // Checked against cv2.fillPoly (OpenCV 4.6 and 5.0 agree for in-bounds polygons).
    expect(maskToText(mask, 8)).toEqual([".##.....", ".####...", ".######.", "..####..", "..###...", "..#....."]);
  });

  test("a polygon reaching outside the mask is clipped, not wrapped", () => {
    const mask = new Uint8Array(6 * 4);
    fillPolygon(mask, 6, 4, [-3, -2, 8, -2, 8, 2, -3, 2]);
    expect(maskToText(mask, 6)).toEqual(["######", "######", "######", "......"]);
  });
});

describe("meanUnderPolygon", () => {
  test("averages exactly the filled pixels of the polygon's bounding window", () => {
    const probs = Float32Array.from({ length: 20 }, (_, i) => i / 20); // 5×4
    // Rectangle x 1..3, y 1..2 (fillPoly includes the edges): pixels 6,7,8,11,12,13.
    const mean = meanUnderPolygon(probs, 5, 4, [1, 1, 3, 1, 3, 2, 1, 2]);
    const want = [6, 7, 8, 11, 12, 13].reduce((s, i) => s + probs[i]!, 0) / 6;
    expect(mean).toBe(want);
  });

  test("float corners are truncated toward zero like numpy astype(int32)", () => {
    const probs = Float32Array.from({ length: 16 }, (_, i) => i); // 4×4
    expect(meanUnderPolygon(probs, 4, 4, [0.9, 0.9, 1.9, 0.9, 1.9, 1.9, 0.9, 1.9])).toBe(meanUnderPolygon(probs, 4, 4, [0, 0, 1, 0, 1, 1, 0, 1]));
  });
});
