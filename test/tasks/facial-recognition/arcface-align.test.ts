/** Alignment maths and the recognition tensor; uses only committed golden values, no fixtures. */
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { ARCFACE_TEMPLATE, alignFace, arcfaceInput, similarityTransform } from "../../../src/tasks/facial-recognition/arcface-align.ts";
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

describe("arcfaceInput", () => {
  const solid = (r: number, g: number, b: number) => {
    const data = new Uint8Array(112 * 112 * 3);
    for (let i = 0; i < data.length; i += 3) data.set([r, g, b], i);
    return { width: 112, height: 112, data };
  };
  const plane = 112 * 112;

  test("uniform grey 128 becomes (128 - 127.5) / 127.5 everywhere", () => {
    const tensor = arcfaceInput([solid(128, 128, 128)]);
    expect(tensor.length).toBe(3 * plane);
    expect(tensor.every((v) => v === Math.fround(0.5 / 127.5))).toBe(true);
  });

  test("N crops -> [N, 3, 112, 112] with R, G, B planes", () => {
    const tensor = arcfaceInput([solid(255, 0, 128), solid(0, 255, 255)]);
    expect(tensor.length).toBe(2 * 3 * plane);
    expect([tensor[0], tensor[plane], tensor[2 * plane]]).toEqual([1, -1, Math.fround(0.5 / 127.5)]);
    expect([tensor[3 * plane], tensor[4 * plane], tensor[6 * plane - 1]]).toEqual([-1, 1, 1]);
  });

  test("no crops -> empty tensor; wrong size is rejected", () => {
    expect(arcfaceInput([]).length).toBe(0);
    expect(() => arcfaceInput([syntheticImage(100, 112, 1)])).toThrow(/112x112/);
  });

  test("a recycled tensor is reused and holds nothing of the faces written into it before", () => {
    clearTensorPool();
    const first = arcfaceInput([solid(255, 255, 255), solid(0, 0, 0)]);
    recycleTensor(first);
    const second = arcfaceInput([solid(0, 0, 0), solid(255, 255, 255)]);
    expect(second.buffer).toBe(first.buffer);
    expect(second.subarray(0, 3 * plane).every((v) => v === -1)).toBe(true);
    expect(second.subarray(3 * plane).every((v) => v === 1)).toBe(true);
  });

  test("a refused batch takes no pooled tensor", () => {
    clearTensorPool();
    const pooled = arcfaceInput([solid(1, 2, 3), solid(1, 2, 3)]);
    recycleTensor(pooled);
    expect(() => arcfaceInput([solid(1, 2, 3), syntheticImage(100, 112, 1)])).toThrow(/112x112/);
    expect(arcfaceInput([solid(1, 2, 3), solid(1, 2, 3)]).buffer).toBe(pooled.buffer);
  });
});
