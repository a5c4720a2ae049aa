/** Faces through the real server, with the fixture SCRFD detector and face embedder in the cache. */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { copyFileSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Value } from "@sinclair/typebox/value";
import { PredictResponse } from "../../../src/http/schemas.ts";
import { describeWithFixtures, fixturePath } from "../../support/fixtures.ts";
import { predict, startTestServer, type TestServer } from "../../support/test-server.ts";

const sharp: typeof import("sharp").default = require("sharp");
const SERVER_ENTRIES = (minScore: number) => ({
  "facial-recognition": { detection: { modelName: "buffalo_m", options: { minScore } }, recognition: { modelName: "buffalo_m" } },
});

describeWithFixtures("face detection + recognition over HTTP", () => {
  let server: TestServer;
  let messi: Uint8Array;

  beforeAll(async () => {
    server = await startTestServer({}, (cache) => {
      const dir = join(cache, "facial-recognition", "buffalo_m");
      mkdirSync(join(dir, "detection"), { recursive: true });
      mkdirSync(join(dir, "recognition"), { recursive: true });
      copyFileSync(fixturePath("models", "scrfd_2.5g.onnx"), join(dir, "detection", "model.onnx"));
      copyFileSync(fixturePath("models", "face_embedding_512.onnx"), join(dir, "recognition", "model.onnx"));
    });
    messi = readFileSync(fixturePath("images", "messi5.jpg"));
  });
  afterAll(() => server.stop());

  test("the server's exact entries: one face in messi5.jpg, upstream's response shape", async () => {
    const res = await predict(server.url, SERVER_ENTRIES(0.7), { image: messi });
    expect(res.status).toBe(200);
    const text = await res.text();
    const body = JSON.parse(text) as {
      "facial-recognition": Array<{ boundingBox: Record<string, number>; embedding: string; score: number }>;
      imageWidth: number;
      imageHeight: number;
    };
    expect([body.imageWidth, body.imageHeight]).toEqual([548, 342]);
    expect(body["facial-recognition"]).toHaveLength(1);
    const face = body["facial-recognition"][0]!;
    expect(Object.keys(face)).toEqual(["boundingBox", "embedding", "score"]);
    expect(Object.keys(face.boundingBox)).toEqual(["x1", "y1", "x2", "y2"]);
    expect(JSON.parse(face.embedding)).toHaveLength(512);
    // Boxes are whole numbers printed as floats, like numpy float32 through orjson.
    expect(text).toMatch(/"x1":-?\d+\.0,"y1":-?\d+\.0,"x2":-?\d+\.0,"y2":-?\d+\.0/);
    expect(face.score).toBeGreaterThan(0.7);
  });

  test("minScore is honoured per request", async () => {
    const strict = (await (await predict(server.url, SERVER_ENTRIES(0.99), { image: messi })).json()) as Record<string, unknown[]>;
    expect(strict["facial-recognition"]).toEqual([]);
    const loose = (await (await predict(server.url, SERVER_ENTRIES(0.5), { image: messi })).json()) as Record<string, unknown[]>;
    expect(loose["facial-recognition"]).toHaveLength(1);
  });

  test("a black image has no faces and recognition does not run", async () => {
    const black = await sharp({ create: { width: 600, height: 800, channels: 3, background: { r: 0, g: 0, b: 0 } } })
      .jpeg()
      .toBuffer();
    const body = (await (await predict(server.url, SERVER_ENTRIES(0.7), { image: black })).json()) as Record<string, unknown>;
    expect(body).toEqual({ "facial-recognition": [], imageHeight: 800, imageWidth: 600 });
  });

  test("three faces with a recognizer fixed to batch 1: one run per face, the copies embed alike", async () => {
    // A 2x2 grid with three copies: faces stay large enough once letterboxed to 640.
    const collage = await sharp({ create: { width: 548 * 2, height: 342 * 2, channels: 3, background: { r: 0, g: 0, b: 0 } } })
      .composite(
        [
          [0, 0],
          [548, 0],
          [0, 342],
        ].map(([left, top]) => ({ input: Buffer.from(messi), left: left!, top: top! })),
      )
      .jpeg({ quality: 100 })
      .toBuffer();
    const body = (await (await predict(server.url, SERVER_ENTRIES(0.5), { image: collage })).json()) as Record<
      string,
      Array<{ embedding: string; boundingBox: { x1: number } }>
    >;
    const faces = body["facial-recognition"]!;
    expect(faces).toHaveLength(3);
    const vectors = faces.map((face) => JSON.parse(face.embedding) as number[]);
    const cosine = (a: number[], b: number[]) => a.reduce((s, v, i) => s + v * b[i]!, 0) / Math.hypot(...a) / Math.hypot(...b);
    expect(cosine(vectors[0]!, vectors[1]!)).toBeGreaterThan(0.8);
    expect(cosine(vectors[1]!, vectors[2]!)).toBeGreaterThan(0.8);
  });

  test("detection alone answers upstream's raw detector dict", async () => {
    const body = (await (await predict(server.url, { "facial-recognition": { detection: { modelName: "buffalo_m" } } }, { image: messi })).json()) as {
      "facial-recognition": { boxes: number[][]; scores: number[]; landmarks: number[][][] };
    };
    expect(Value.Check(PredictResponse, body)).toBe(true);
    const out = body["facial-recognition"];
    expect(out.boxes).toHaveLength(1);
    expect(out.boxes[0]).toHaveLength(4);
    expect(out.landmarks[0]).toHaveLength(5);
    expect(out.landmarks[0]![0]).toHaveLength(2);
  });

  test("recognition without detection → 400 before any model loads", async () => {
    const res = await predict(server.url, { "facial-recognition": { recognition: { modelName: "buffalo_l" } } }, { image: messi });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ detail: "Task facial-recognition of type recognition depends on output of (detection, facial-recognition)" });
  });

  test("invalid minScore → 400", async () => {
    const res = await predict(server.url, SERVER_ENTRIES(7), { image: messi });
    expect(res.status).toBe(400);
  });
});
