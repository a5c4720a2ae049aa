import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { warpAffineCv } from "../../../src/imaging/cv-warp-affine.ts";
import { compareImages, goldenDir, readRgb, syntheticImage } from "./synthetic.ts";

interface WarpCase {
  name: string;
  src: [number, number, number];
  matrix: number[];
  size: [number, number];
  png: string;
}
const cases: WarpCase[] = (await Bun.file(join(goldenDir, "cv.json")).json()).warp;

describe("warpAffineCv matches cv2.warpAffine (bilinear, black border) bit for bit", () => {
  for (const c of cases) {
    test(`${c.name}: ${c.src[0]}x${c.src[1]} -> ${c.size[0]}x${c.size[1]}`, async () => {
      const [w, h, seed] = c.src;
      const actual = warpAffineCv(syntheticImage(w, h, seed), c.matrix, c.size[0], c.size[1]);
      const expected = await readRgb(join(goldenDir, c.png));
      expect(compareImages(actual, expected)).toEqual({ maxDiff: 0, differing: 0 });
    });
  }

  test("identity reproduces the source", () => {
    const src = syntheticImage(7, 6, 3);
    expect(warpAffineCv(src, [1, 0, 0, 0, 1, 0], 7, 6).data).toEqual(src.data);
  });

  test("a singular matrix samples only the source origin, like OpenCV's zeroed inverse", () => {
    const src = syntheticImage(4, 4, 5);
    const out = warpAffineCv(src, [0, 0, 1, 0, 0, 1], 3, 2);
    for (let p = 0; p < 6; p++) expect([...out.data.subarray(p * 3, p * 3 + 3)]).toEqual([...src.data.subarray(0, 3)]);
  });

  test("rejects malformed matrices", () => {
    expect(() => warpAffineCv(syntheticImage(2, 2, 1), [1, 0, 0, 1], 2, 2)).toThrow();
  });
});
