/**
 * The face pipeline on the real SCRFD and embedding fixture models, run with onnxruntime-node,
 * against the golden values of scripts/reference/faces.py (cv2 + numpy + scikit-image).
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import type { RgbImage } from "../../../src/imaging/rgb-image.ts";
import { warpAffineCv } from "../../../src/imaging/cv-warp-affine.ts";
import { alignFace, alignedFacesInput } from "../../../src/tasks/facial-recognition/arcface-align.ts";
import { decodeScrfd, scrfdInput, type FaceDetections } from "../../../src/tasks/facial-recognition/scrfd.ts";
import { compareImages, goldenDir, readRgb } from "../../imaging/cv/synthetic.ts";
import { describeWithFixtures, fixturePath } from "../../support/fixtures.ts";

interface GoldenFace {
  box: number[];
  score: number;
  landmarks: number[];
  crop?: string;
  cropMatrix?: number[];
}
interface GoldenCase {
  model: string;
  image: string;
  size: [number, number];
  detScale: number;
  canvasSha256: string;
  faces: GoldenFace[];
}
const golden: { minScore: number; cases: GoldenCase[] } = await Bun.file(join(goldenDir, "faces.json")).json();
const DETECTORS = ["scrfd_2.5g.onnx", "scrfd_500m.onnx", "scrfd_500m_bnkps.onnx"];

describeWithFixtures("face pipeline on fixture models", () => {
  const sessions = new Map<string, ort.InferenceSession>();
  const images = new Map<string, RgbImage>();

  beforeAll(async () => {
    for (const name of [...DETECTORS, "face_embedding_512.onnx"]) {
      sessions.set(name, await ort.InferenceSession.create(fixturePath("models", name)));
    }
    for (const name of ["messi5.jpg", "scenetext01.jpg", "scenetext03.jpg", "robin.jpg"]) {
      images.set(name, await readRgb(fixturePath("images", name)));
    }
  });
  afterAll(async () => {
    for (const session of sessions.values()) await session.release();
  });

  async function detect(model: string, image: RgbImage, minScore: number): Promise<FaceDetections> {
    const session = sessions.get(model)!;
    const { tensor, scale } = scrfdInput(image);
    const feeds = { [session.inputNames[0]!]: new ort.Tensor("float32", tensor, [1, 3, 640, 640]) };
    const results = await session.run(feeds);
    const outputs = session.outputNames.map((name) => ({ dims: results[name]!.dims, data: results[name]!.data as Float32Array }));
    return decodeScrfd(outputs, 640, scale, minScore);
  }

  /** The embedding of the face at `landmarks` in `image`, its crop made as the service makes it. */
  async function embed({ image, landmarks }: { image: RgbImage; landmarks: Float32Array }): Promise<Float32Array> {
    const session = sessions.get("face_embedding_512.onnx")!;
    const results = await session.run({ input: new ort.Tensor("float32", alignedFacesInput(image, landmarks), [1, 3, 112, 112]) });
    return results.output!.data as Float32Array;
  }

  for (const c of golden.cases) {
    test(`${c.model} on ${c.image}: ${c.faces.length} face(s) as the reference finds them`, async () => {
      const image = images.get(c.image)!;
      const { tensor, scale } = scrfdInput(image);
      expect(scale).toBe(c.detScale);
      expect(sha256OfCanvas(tensor)).toBe(c.canvasSha256);

      const det = await detect(c.model, image, golden.minScore);
      expect(det.scores.length).toBe(c.faces.length);
      c.faces.forEach((face, n) => {
        face.box.forEach((v, k) => expect(Math.abs(det.boxes[4 * n + k]! - v)).toBeLessThanOrEqual(1));
        face.landmarks.forEach((v, k) => expect(Math.abs(det.landmarks[10 * n + k]! - v)).toBeLessThanOrEqual(0.5));
        expect(det.scores[n]!).toBeCloseTo(face.score, 4);
      });

      for (const [n, face] of c.faces.entries()) {
        if (!face.crop) continue;
        const expected = await readRgb(join(goldenDir, face.crop));
        // The warp alone, with the reference's own matrix: bit-exact.
        expect(compareImages(warpAffineCv(image, face.cropMatrix!, 112, 112), expected).maxDiff).toBe(0);
        // The whole alignment: insightface's float32 similarity estimate moves a few pixels by <= 2.
        expect(compareImages(alignFace(image, face.landmarks), expected).maxDiff).toBeLessThanOrEqual(2);
        expect(compareImages(alignFace(image, det.landmarks.subarray(10 * n, 10 * n + 10)), expected).maxDiff).toBeLessThanOrEqual(2);
      }
    });
  }

  test("messi5.jpg has exactly one face with every detector", async () => {
    for (const model of DETECTORS) expect((await detect(model, images.get("messi5.jpg")!, 0.5)).scores.length).toBe(1);
  });

  test("minScore changes the result", async () => {
    const photo = images.get("scenetext03.jpg")!;
    expect((await detect("scrfd_2.5g.onnx", photo, 0.4)).scores.length).toBe(1);
    expect((await detect("scrfd_2.5g.onnx", photo, 0.5)).scores.length).toBe(0);
    const messi = images.get("messi5.jpg")!;
    expect((await detect("scrfd_500m.onnx", messi, 0.3)).scores.length).toBe(2);
  });

  test("a black image has no faces", async () => {
    const black = { width: 600, height: 800, data: new Uint8Array(600 * 800 * 3) };
    for (const model of DETECTORS) expect((await detect(model, black, 0.5)).scores.length).toBe(0);
  });

  test("the same face mirrored embeds closer than two different people", async () => {
    const firstCrop = async (image: RgbImage) => {
      const det = await detect("scrfd_2.5g.onnx", image, 0.5);
      expect(det.scores.length).toBe(1);
      return { image, landmarks: det.landmarks.subarray(0, 10) };
    };
    const messi = images.get("messi5.jpg")!;
    const [face, mirrored, other] = await Promise.all([
      firstCrop(messi).then(embed),
      firstCrop(mirror(messi)).then(embed),
      firstCrop(images.get("scenetext01.jpg")!).then(embed),
    ]);
    expect(face.length).toBe(512);
    const same = cosine(face, mirrored);
    const different = cosine(face, other);
    expect(same).toBeGreaterThan(0.8);
    expect(different).toBeLessThan(0.4);
  });
});

/** sha256 of the letterboxed canvas as RGB bytes, recovered from the normalised tensor. */
function sha256OfCanvas(tensor: Float32Array): string {
  const plane = 640 * 640;
  const rgb = new Uint8Array(plane * 3);
  for (let i = 0; i < plane; i++) for (let c = 0; c < 3; c++) rgb[3 * i + c] = tensor[c * plane + i]! * 128 + 127.5;
  return new Bun.CryptoHasher("sha256").update(rgb).digest("hex");
}

function mirror(image: RgbImage): RgbImage {
  const data = new Uint8Array(image.data.length);
  for (let y = 0; y < image.height; y++) {
    for (let x = 0; x < image.width; x++) {
      const from = (y * image.width + x) * 3;
      data.set(image.data.subarray(from, from + 3), (y * image.width + image.width - 1 - x) * 3);
    }
  }
  return { width: image.width, height: image.height, data };
}

function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0,
    na = 0,
    nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return dot / Math.sqrt(na * nb);
}
