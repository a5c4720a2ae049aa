/**
 * Faces end to end: the service over HTTP against insightface's own RetinaFace/SCRFD, norm_crop
 * and ArcFaceONNX (scripts/reference/insightface_faces.py, run by `npm run parity`) on the fixture
 * detectors and embedder, for every (detector, image, minScore) case.
 *
 * Tolerances are the existing goldens' (test/tasks/facial-recognition/pipeline.fixtures.test.ts):
 * boxes within 1 px after rounding, landmarks within 0.5 px, scores within 5e-5; embeddings must
 * have a cosine of at least 0.999 with insightface's. Anything closer than float noise counts as
 * identical.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fixturePath } from "../support/fixtures.ts";
import { predict, startTestServer, type TestServer } from "../support/test-server.ts";
import { describeWithLiveReference, parityCacheDir } from "./parity-cache.ts";

interface ReferenceFace {
  box: number[];
  score: number;
  landmarks: number[];
  embedding: number[];
}
interface ReferenceCase {
  model: string;
  detector: string;
  image: string;
  minScore: number;
  faces: ReferenceFace[];
}

const DETECTOR_FILES: Record<string, string> = { buffalo_m: "scrfd_2.5g.onnx", buffalo_s: "scrfd_500m.onnx", buffalo_l: "scrfd_500m_bnkps.onnx" };
const TOLERANCE = { box: 1, landmark: 0.5, score: 5e-5, cosine: 0.999 };

const cosine = (a: number[], b: number[]) => a.reduce((s, v, i) => s + v * b[i]!, 0) / Math.hypot(...a) / Math.hypot(...b);
const maxAbsDiff = (a: number[], b: number[]) => Math.max(0, ...a.map((v, i) => Math.abs(v - b[i]!)));

describeWithLiveReference("faces over HTTP against insightface", "faces/faces.json", (path) => {
  let server: TestServer;
  const reference = () => JSON.parse(readFileSync(path, "utf8")) as { cases: ReferenceCase[] };

  beforeAll(async () => {
    server = await startTestServer({}, (cache) => {
      for (const [name, detector] of Object.entries(DETECTOR_FILES)) {
        const dir = join(cache, "facial-recognition", name);
        mkdirSync(join(dir, "detection"), { recursive: true });
        mkdirSync(join(dir, "recognition"), { recursive: true });
        copyFileSync(fixturePath("models", detector), join(dir, "detection", "model.onnx"));
        copyFileSync(fixturePath("models", "face_embedding_512.onnx"), join(dir, "recognition", "model.onnx"));
      }
    });
  });
  afterAll(() => server?.stop());

  test("boxes, scores, landmarks and embeddings of every case", async () => {
    const rows = new Map<string, { family: string; cases: number; identical: number; withinTolerance: number; different: number; worst: string }>();
    const worstOf = new Map<string, { box: number; landmark: number; score: number; cosine: number; where: string }>();
    const failures: string[] = [];
    for (const c of reference().cases) {
      const image = new Uint8Array(readFileSync(join(path, "..", "images", c.image)));
      const detection = { modelName: c.model, options: { minScore: c.minScore } };
      const full = (await (await predict(server.url, { "facial-recognition": { detection, recognition: { modelName: c.model } } }, { image })).json()) as {
        "facial-recognition": Array<{ boundingBox: { x1: number; y1: number; x2: number; y2: number }; embedding: string; score: number }>;
      };
      const raw = (await (await predict(server.url, { "facial-recognition": { detection } }, { image })).json()) as {
        "facial-recognition": { landmarks: number[][][] };
      };
      const where = `${c.model} ${c.image} minScore ${c.minScore}`;
      const ours = full["facial-recognition"];
      const row = rows.get(c.detector) ?? { family: c.detector, cases: 0, identical: 0, withinTolerance: 0, different: 0, worst: "" };
      rows.set(c.detector, row);
      const worst = worstOf.get(c.detector) ?? { box: 0, landmark: 0, score: 0, cosine: 1, where: "" };
      worstOf.set(c.detector, worst);
      row.cases++;
      if (ours.length !== c.faces.length) {
        row.different++;
        failures.push(`${where}: ${ours.length} faces, insightface ${c.faces.length}`);
        continue;
      }
      let identical = true;
      let within = true;
      ours.forEach((face, i) => {
        const ref = c.faces[i]!;
        const box = maxAbsDiff([face.boundingBox.x1, face.boundingBox.y1, face.boundingBox.x2, face.boundingBox.y2], ref.box);
        const landmark = maxAbsDiff(raw["facial-recognition"].landmarks[i]!.flat(), ref.landmarks);
        const score = Math.abs(face.score - ref.score);
        const cos = cosine(JSON.parse(face.embedding) as number[], ref.embedding);
        if (box > worst.box || landmark > worst.landmark || score > worst.score || cos < worst.cosine) worst.where = `${where}, face ${i}`;
        worst.box = Math.max(worst.box, box);
        worst.landmark = Math.max(worst.landmark, landmark);
        worst.score = Math.max(worst.score, score);
        worst.cosine = Math.min(worst.cosine, cos);
        identical &&= box === 0 && landmark < 1e-3 && score < 1e-6 && cos > 0.999999;
        const ok = box <= TOLERANCE.box && landmark <= TOLERANCE.landmark && score <= TOLERANCE.score && cos >= TOLERANCE.cosine;
        within &&= ok;
        if (!ok) failures.push(`${where}, face ${i}: box ${box}, landmarks ${landmark}, score ${score}, cosine ${cos}`);
      });
      if (identical) row.identical++;
      else if (within) row.withinTolerance++;
      else row.different++;
    }
    for (const [detector, w] of worstOf) {
      rows.get(detector)!.worst =
        `max box diff ${w.box} px, landmarks ${w.landmark.toFixed(4)} px, score ${w.score.toExponential(2)}, min cosine ${w.cosine.toFixed(6)} (${w.where})`;
    }
    mkdirSync(join(parityCacheDir, "results"), { recursive: true });
    writeFileSync(join(parityCacheDir, "results", "faces.json"), JSON.stringify([...rows.values()], null, 1));
    expect(failures).toEqual([]);
  }, 600_000);
});
