/** Alignment maths and the recognition tensor; uses only committed golden values, no fixtures. */
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { ARCFACE_TEMPLATE, alignFace, alignedFacesInput, similarityTransform } from "../../../src/tasks/facial-recognition/arcface-align.ts";
import type { ResampleBackend } from "../../../src/imaging/wasm/resample-module.ts";
import { goldenDir, syntheticImage } from "../../imaging/cv/synthetic.ts";
import { clearTensorPool, recycleTensor } from "../../../src/runtime/tensor-pool.ts";

function apply(m: number[], points: readonly number[]): number[] {
  const out: number[] = [];
  for (let i = 0; i < points.length; i += 2) {
    const [x, y] = [points[i]!, points[i + 1]!];
    out.push(m[0]! * x + m[1]! * y + m[2]!, m[3]! * x + m[4]! * y + m[5]!);
  }
  return out;
}

describe("similarityTransform", () => {
  test("recovers a known rotation + uniform scale + translation", () => {
    const angle = 0.3;
    const truth = [2.5 * Math.cos(angle), -2.5 * Math.sin(angle), -40, 2.5 * Math.sin(angle), 2.5 * Math.cos(angle), 17];
    const src = [10, 20, 30, 22, 21, 35, 12, 48, 29, 47];
    const estimated = similarityTransform(src, apply(truth, src));
    estimated.forEach((v, i) => expect(v).toBeCloseTo(truth[i]!, 10));
  });

  test("the template onto itself is the identity", () => {
    const m = similarityTransform(ARCFACE_TEMPLATE, ARCFACE_TEMPLATE);
    [1, 0, 0, 0, 1, 0].forEach((v, i) => expect(m[i]).toBeCloseTo(v, 12));
  });

  test("equals scikit-image's float64 estimate on detected landmarks", async () => {
    const golden = await Bun.file(join(goldenDir, "faces.json")).json();
    const faces = golden.cases.flatMap((c: { faces: { landmarks: number[]; cropMatrixF64?: number[] }[] }) => c.faces);
    const withMatrix = faces.filter((f: { cropMatrixF64?: number[] }) => f.cropMatrixF64);
    expect(withMatrix.length).toBeGreaterThan(0);
    for (const face of withMatrix) {
      const m = similarityTransform(face.landmarks, ARCFACE_TEMPLATE);
      m.forEach((v, i) => expect(Math.abs(v - face.cropMatrixF64![i]!)).toBeLessThan(1e-9 * Math.max(1, Math.abs(v))));
    }
  });

  test("mirrored landmarks give scikit-image's reflection-corrected rotation, never a reflection", () => {
    const mirrored = ARCFACE_TEMPLATE.map((v, i) => (i % 2 === 0 ? 112 - v : v));
    const m = similarityTransform(mirrored, ARCFACE_TEMPLATE);
    // SimilarityTransform().estimate(mirrored, template).params[:2] with scikit-image 0.19, float64
    const skimage = [0.22530217460689397, 0.0025334541616451717, 43.232974796585125, -0.002533454161645172, 0.22530217460689403, 55.84318506795939];
    m.forEach((v, i) => expect(v).toBeCloseTo(skimage[i]!, 12));
  });

  test("coincident landmarks give NaNs, like scikit-image", () => {
    expect(similarityTransform(new Array(10).fill(3), ARCFACE_TEMPLATE).every(Number.isNaN)).toBe(true);
    expect(() => similarityTransform([1, 2, 3], [1, 2, 3])).toThrow();
  });
});

describe("alignFace", () => {
  test("landmarks already on the template crop the top-left 112x112 unchanged", () => {
    const image = syntheticImage(130, 120, 21);
    const crop = alignFace(image, ARCFACE_TEMPLATE);
    expect([crop.width, crop.height]).toEqual([112, 112]);
    for (let y = 0; y < 112; y++) {
      expect(crop.data.subarray(y * 336, y * 336 + 336)).toEqual(image.data.subarray(y * 390, y * 390 + 336));
    }
  });

  test("coincident landmarks repeat the top-left pixel, as cv2.warpAffine does with a NaN matrix", () => {
    const image = syntheticImage(30, 20, 22);
    const crop = alignFace(image, new Array(10).fill(5));
    for (let p = 0; p < 112 * 112; p++) expect([...crop.data.subarray(3 * p, 3 * p + 3)]).toEqual([...image.data.subarray(0, 3)]);
  });

  test("rejects anything but 5 points", () => {
    expect(() => alignFace(syntheticImage(4, 4, 1), [1, 2, 3, 4])).toThrow();
  });
});

describe("alignedFacesInput", () => {
  const plane = 112 * 112;
  const solid = (value: number) => ({ width: 130, height: 120, data: new Uint8Array(130 * 120 * 3).fill(value) });
  /** Landmarks of `faces` faces, each on the template (so each crop is the photo's top-left 112x112). */
  const onTemplate = (faces: number) => Array.from({ length: faces }, () => ARCFACE_TEMPLATE).flat();

  for (const backend of ["js", "wasm"] as ResampleBackend[]) {
    test(`${backend}: landmarks on the template give the photo's top-left 112x112, (p - 127.5) / 127.5 in RGB planes`, () => {
      const image = syntheticImage(130, 120, 21);
      const tensor = alignedFacesInput(image, onTemplate(2), backend);
      expect(tensor.length).toBe(2 * 3 * plane);
      const expected = new Float32Array(3 * plane);
      for (let y = 0; y < 112; y++) {
        for (let x = 0; x < 112; x++) {
          for (let c = 0; c < 3; c++) expected[c * plane + y * 112 + x] = (image.data[(y * 130 + x) * 3 + c]! - 127.5) / 127.5;
        }
      }
      expect(tensor.subarray(0, 3 * plane)).toEqual(expected);
      expect(tensor.subarray(3 * plane)).toEqual(expected);
    });
  }

  test("both backends give the same values: faces inside, across the border, outside, degenerate", () => {
    const image = syntheticImage(300, 200, 7);
    const faces = [
      [120, 80, 160, 82, 140, 105, 125, 125, 158, 126], // upright, inside
      [10, 10, 40, 30, 20, 40, 5, 55, 30, 62], // rotated, across the top-left corner
      [270, 170, 330, 190, 300, 215, 280, 240, 320, 250], // across the bottom-right corner
      [900, 900, 950, 900, 925, 930, 905, 960, 945, 960], // entirely outside: black
      [60, 60, 61, 60, 60.5, 61, 60, 62, 61, 62], // a tiny face: a large zoom
      new Array(10).fill(5), // coincident: a NaN matrix
    ].flat();
    const js = alignedFacesInput(image, faces, "js").slice();
    const wasm = alignedFacesInput(image, faces, "wasm");
    expect(wasm).toEqual(js);
    expect(js.subarray(3 * 3 * plane, 4 * 3 * plane).every((v) => v === -1)).toBe(true);
  });

  test("no faces -> empty tensor; a landmark count that is not 10 per face is rejected", () => {
    expect(alignedFacesInput(syntheticImage(4, 4, 1), []).length).toBe(0);
    expect(() => alignedFacesInput(syntheticImage(4, 4, 1), [1, 2, 3, 4])).toThrow(/10 landmark coordinates/);
  });

  test("a recycled tensor is reused and holds nothing of the faces written into it before", () => {
    clearTensorPool();
    const first = alignedFacesInput(solid(255), onTemplate(2));
    recycleTensor(first);
    const second = alignedFacesInput(solid(0), onTemplate(2));
    expect(second.buffer).toBe(first.buffer);
    expect(second.every((v) => v === -1)).toBe(true);
  });

  test("a refused batch takes no pooled tensor", () => {
    clearTensorPool();
    const pooled = alignedFacesInput(solid(1), onTemplate(2));
    recycleTensor(pooled);
    expect(() => alignedFacesInput(solid(1), onTemplate(2).slice(0, 15))).toThrow(/10 landmark coordinates/);
    expect(alignedFacesInput(solid(1), onTemplate(2)).buffer).toBe(pooled.buffer);
  });
});
