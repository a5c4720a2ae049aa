/**
 * Cross-request batching of face recognition: faces of concurrent requests share recogniser runs,
 * and every face's embedding is the same whatever it was batched with. The fixture detector finds
 * the faces; the recogniser is a stand-in with a batch axis (the fixture embedder's is fixed to 1).
 */
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describeWithFixtures, fixturePath } from "../../support/fixtures.ts";
import { faceEmbedderModel } from "../../support/onnx-builder.ts";
import { predict, startTestServer, type TestServer } from "../../support/test-server.ts";
import { fetchStageCount } from "../../support/stage-count.ts";

// Real face models over HTTP, concurrent requests on 2 cores: a few seconds per test.
setDefaultTimeout(15_000);

const sharp: typeof import("sharp").default = require("sharp");
const ENTRIES = { "facial-recognition": { detection: { modelName: "buffalo_l", options: { minScore: 0.5 } }, recognition: { modelName: "buffalo_l" } } };

function prepareCache(cache: string): void {
  const dir = join(cache, "facial-recognition", "buffalo_l");
  mkdirSync(join(dir, "detection"), { recursive: true });
  mkdirSync(join(dir, "recognition"), { recursive: true });
  copyFileSync(fixturePath("models", "scrfd_2.5g.onnx"), join(dir, "detection", "model.onnx"));
  writeFileSync(join(dir, "recognition", "model.onnx"), faceEmbedderModel("batch"));
}

function recognitionRuns(server: TestServer): Promise<number> {
  return fetchStageCount(server.url, "session:buffalo_l/recognition", "run");
}

describeWithFixtures("face recognition batching over HTTP", () => {
  let batched: TestServer;
  let unbatched: TestServer;
  let photos: Uint8Array[];

  beforeAll(async () => {
    batched = await startTestServer({}, prepareCache);
    unbatched = await startTestServer({ MACHINE_LEARNING_MAX_BATCH_SIZE__FACIAL_RECOGNITION: "1" }, prepareCache);
    const messi = readFileSync(fixturePath("images", "messi5.jpg"));
    const collage = await sharp({ create: { width: 548 * 2, height: 342 * 2, channels: 3, background: { r: 0, g: 0, b: 0 } } })
      .composite(
        [
          [0, 0],
          [548, 0],
          [0, 342],
        ].map(([left, top]) => ({ input: messi, left: left!, top: top! })),
      )
      .jpeg({ quality: 100 })
      .toBuffer();
    photos = [messi, collage];
  });
  afterAll(async () => {
    await batched.stop();
    await unbatched.stop();
  });

  const ask = async (server: TestServer, image: Uint8Array) => {
    const res = await predict(server.url, ENTRIES, { image });
    expect(res.status).toBe(200);
    return res.text();
  };

  test("a request's faces share power-of-two runs (3 faces: 2 + 1); MAX_BATCH_SIZE 1 gives each face its own", async () => {
    const runsFor = async (server: TestServer) => {
      const before = await recognitionRuns(server);
      const body = JSON.parse(await ask(server, photos[1]!)) as { "facial-recognition": unknown[] };
      expect(body["facial-recognition"]).toHaveLength(3);
      return (await recognitionRuns(server)) - before;
    };
    expect(await runsFor(batched)).toBe(2);
    expect(await runsFor(unbatched)).toBe(3);
  });

  test("concurrent requests get byte-identical responses to the same requests alone, batched or not", async () => {
    const alone: string[] = [];
    for (const image of photos) alone.push(await ask(batched, image));
    const order = [0, 1, 1, 0, 1, 0, 0, 1];
    const concurrent = await Promise.all(order.map((i) => ask(batched, photos[i]!)));
    concurrent.forEach((text, k) => expect(text).toBe(alone[order[k]!]!));
    for (const [i, image] of photos.entries()) expect(await ask(unbatched, image)).toBe(alone[i]!);
  });
});
