/**
 * Tesseract on the fixture photos, offline (the English data ships with the service). Tesseract reads
 * scene text less well than PP-OCR; these assertions are what it really reads (tesseract.js 7.0.0,
 * best_int English data, sparse-text page segmentation, photos as posted):
 *  - scenetext01.jpg: DOUBLE, PARKING, PROHIBITED (PP-OCR also reads NOTICE; Tesseract does not);
 *  - scenetext03.jpg: "entre" of "centre" (PP-OCR reads "copy" and "centre");
 *  - robin.jpg: nothing above the server's 0.8 threshold.
 */
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { readFileSync } from "node:fs";
import { setLogLevel, setLogSink } from "../../../src/log.ts";
import { describeWithFixtures, fixturePath } from "../../support/fixtures.ts";
import { predict, startTestServer, type TestServer } from "../../support/test-server.ts";

// Tesseract reads real photos on one thread: up to a few seconds each on 2 cores.
setDefaultTimeout(15_000);

const sharp: typeof import("sharp").default = require("sharp");
const ocrEntries = (modelName: string) => ({
  ocr: {
    detection: { modelName, options: { minScore: 0.5, maxResolution: 736 } },
    recognition: { modelName, options: { minScore: 0.8 } },
  },
});

interface OcrBody {
  ocr: { text: string[]; box: number[]; boxScore: number[]; textScore: number[] };
  imageWidth: number;
  imageHeight: number;
}

async function read(url: string, modelName: string, image: Uint8Array): Promise<OcrBody> {
  const res = await predict(url, ocrEntries(modelName), { image });
  expect(res.status).toBe(200);
  return (await res.json()) as OcrBody;
}

const photo = (name: string) => readFileSync(fixturePath("images", name));

describeWithFixtures("tesseract reads the fixture photos", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server.stop());

  test("scenetext01.jpg: the parking sign, in the OCR response shape", async () => {
    const body = await read(server.url, "tesseract", photo("scenetext01.jpg"));
    expect([body.imageWidth, body.imageHeight]).toEqual([800, 600]);
    const { text, box, boxScore, textScore } = body.ocr;
    for (const word of ["DOUBLE", "PARKING", "PROHIBITED"]) expect(text).toContain(word);
    expect(box).toHaveLength(text.length * 8);
    for (const v of box) expect(v >= 0 && v <= 1).toBe(true);
    for (const s of textScore) expect(s).toBeGreaterThan(0.8);
    expect(boxScore).toEqual(textScore);
    // DOUBLE sits on the sign: x 280–420, y 88–121 of 800×600.
    const i = text.indexOf("DOUBLE");
    const corners = box.slice(i * 8, i * 8 + 8).map((v, k) => Math.round(v * (k % 2 === 0 ? 800 : 600)));
    expect(corners).toEqual([280, 88, 420, 88, 420, 121, 280, 121]);
  });

  test("scenetext03.jpg: part of the copy centre sign; robin.jpg: no text", async () => {
    const sign = await read(server.url, "tesseract", photo("scenetext03.jpg"));
    expect(sign.ocr.text.join(" ").toLowerCase()).toContain("entre");
    const bird = await read(server.url, "tesseract", photo("robin.jpg"));
    expect(bird.ocr).toEqual({ text: [], box: [], boxScore: [], textScore: [] });
  });

  test("/ping answers while a recognition runs", async () => {
    // Twice the fixture's size: about a second of recognition on two cores.
    const large = await sharp(photo("scenetext01.jpg")).resize(1600).jpeg().toBuffer();
    let done = false;
    const request = read(server.url, "tesseract", large).finally(() => (done = true));
    // For the recognition to be under way: its thread tells nothing before it answers.
    await Bun.sleep(100);
    const pings: number[] = [];
    while (!done) {
      const started = performance.now();
      expect(await (await fetch(`${server.url}/ping`)).text()).toBe("pong");
      if (!done) pings.push(performance.now() - started);
      await Bun.sleep(20); // a probe's pace, as a balancer's checks come
    }
    await request;
    expect(pings.length).toBeGreaterThan(3);
    expect(Math.max(...pings)).toBeLessThan(250);
  });
});

describeWithFixtures("MACHINE_LEARNING_OCR_FALLBACK=tesseract with PP-OCR unreachable", () => {
  let server: TestServer;
  const warnings: string[] = [];
  let restoreSink: (line: string) => void;

  beforeAll(async () => {
    setLogLevel("warn");
    restoreSink = setLogSink((line) => warnings.push(line));
    // Empty cache; ModelScope replaced by a port nothing listens on.
    server = await startTestServer({ MACHINE_LEARNING_OCR_FALLBACK: "tesseract", MACHINE_LEARNING_OCR_MODEL_URL: "http://127.0.0.1:9" });
  });
  afterAll(async () => {
    await server.stop();
    setLogSink(restoreSink);
    setLogLevel("critical");
  });

  test("PP-OCRv5_mobile requests are read by tesseract, with one warning", async () => {
    const first = await read(server.url, "PP-OCRv5_mobile", photo("scenetext01.jpg"));
    for (const word of ["DOUBLE", "PARKING", "PROHIBITED"]) expect(first.ocr.text).toContain(word);
    const second = await read(server.url, "EN__PP-OCRv5_mobile", photo("scenetext01.jpg"));
    expect(second.ocr).toEqual(first.ocr);
    const fallbacks = warnings.filter((line) => line.includes("Serving OCR with tesseract"));
    expect(fallbacks).toHaveLength(1);
    expect(fallbacks[0]).toContain("Model 'PP-OCRv5_mobile' is not available");
  });
});
