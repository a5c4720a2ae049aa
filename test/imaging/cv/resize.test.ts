import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { resizeCvLinear } from "../../../src/imaging/cv-resize.ts";
import type { ResampleBackend } from "../../../src/imaging/wasm/resample-module.ts";
import { compareImages, goldenDir, readRgb, syntheticImage } from "./synthetic.ts";

interface ResizeCase {
  name: string;
  src: [number, number, number];
  size: [number, number];
  png: string;
}
const cases: ResizeCase[] = (await Bun.file(join(goldenDir, "cv.json")).json()).resize;

// Both implementations of the general case: the JavaScript reference and the WebAssembly SIMD kernel.
const BACKENDS: ResampleBackend[] = ["js", "wasm"];

describe.each(BACKENDS)("resizeCvLinear (%s) matches cv2.resize INTER_LINEAR bit for bit", (backend) => {
  for (const c of cases) {
    test(`${c.name}: ${c.src[0]}x${c.src[1]} -> ${c.size[0]}x${c.size[1]}`, async () => {
      const [w, h, seed] = c.src;
      const actual = resizeCvLinear(syntheticImage(w, h, seed), c.size[0], c.size[1], backend);
      const expected = await readRgb(join(goldenDir, c.png));
      expect(compareImages(actual, expected)).toEqual({ maxDiff: 0, differing: 0 });
    });
  }

  test("same size is a copy that does not alias the source", () => {
    const src = syntheticImage(5, 4, 9);
    const out = resizeCvLinear(src, 5, 4, backend);
    expect(out.data).toEqual(src.data);
    expect(out.data).not.toBe(src.data);
  });

  test("rejects empty or fractional sizes", () => {
    const src = syntheticImage(5, 4, 9);
    expect(() => resizeCvLinear(src, 0, 4)).toThrow();
    expect(() => resizeCvLinear(src, 2.5, 4)).toThrow();
  });
});
