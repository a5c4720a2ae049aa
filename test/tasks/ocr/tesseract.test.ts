/**
 * The tesseract OCR fallback without the shared fixtures: names, settings, the response shape,
 * the offline English data, language downloads from a local server (and data Tesseract cannot
 * load), and MACHINE_LEARNING_OCR_FALLBACK. Photos are read in tesseract.fixtures.test.ts.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { loadSettings } from "../../../src/config/settings.ts";
import { lookupModel } from "../../../src/models/registry.ts";
import { pageLines, type TesseractLine } from "../../../src/tasks/ocr/tesseract/page-lines.ts";
import { pnmImage } from "../../../src/tasks/ocr/tesseract/pnm-image.ts";
import { tessdataSource } from "../../../src/tasks/ocr/tesseract/tessdata-source.ts";
import { MAX_TESSERACT_LANGUAGES } from "../../../src/tasks/ocr/tesseract/recognition.ts";
import { repoRoot } from "../../support/fixtures.ts";
import { predict, startTestServer, type TestServer } from "../../support/test-server.ts";

const sharp: typeof import("sharp").default = require("sharp");
const ENGLISH_DATA = readFileSync(join(repoRoot, "node_modules/@tesseract.js-data/eng/4.0.0_best_int/eng.traineddata.gz"));
const ocrEntries = (modelName: string) => ({
  ocr: {
    detection: { modelName, options: { minScore: 0.5, maxResolution: 736 } },
    recognition: { modelName, options: { minScore: 0.8 } },
  },
});
const EMPTY = { text: [], box: [], boxScore: [], textScore: [] };

let blank: Uint8Array;
beforeAll(async () => {
  blank = await sharp({ create: { width: 320, height: 240, channels: 3, background: "#fff" } })
    .png()
    .toBuffer();
});

describe("tesseract names and settings", () => {
  test("`tesseract` and `tesseract__<published tessdata code>` are OCR models; other spellings and made-up codes are unknown", () => {
    for (const name of ["tesseract", "tesseract__deu", "tesseract__chi_sim", "tesseract__srp_latn"]) {
      expect(lookupModel(name)).toEqual({ name, family: "tesseract", dimensions: undefined });
    }
    for (const name of [
      "tesseract__",
      "tesseract__de",
      "tesseract__DEU",
      "tesseract_deu",
      "tesseract__deu__x",
      "tesseract__xyz",
      "tesseract__bad",
      `tesseract__${"a".repeat(5000)}`,
    ])
      expect(lookupModel(name)).toBeUndefined();
  });

  test("MACHINE_LEARNING_OCR_FALLBACK accepts tesseract or nothing, and names itself otherwise", () => {
    expect(loadSettings({}).ocrFallback).toBeUndefined();
    expect(loadSettings({ MACHINE_LEARNING_OCR_FALLBACK: "" }).ocrFallback).toBeUndefined();
    expect(loadSettings({ machine_learning_ocr_fallback: " Tesseract " }).ocrFallback).toBe("tesseract");
    expect(() => loadSettings({ MACHINE_LEARNING_OCR_FALLBACK: "easyocr" })).toThrow(
      'Invalid value for MACHINE_LEARNING_OCR_FALLBACK: "easyocr" (expected tesseract or unset)',
    );
  });

  test("the language data URL defaults to tesseract.js's own and can point at a mirror", () => {
    const { network, tessdataUrl } = loadSettings({});
    expect(tessdataUrl).toBeUndefined();
    expect(tessdataSource(tessdataUrl, "deu", network).label).toBe("https://cdn.jsdelivr.net/npm/@tesseract.js-data/deu/4.0.0_best_int/deu.traineddata.gz");
    const mirror = loadSettings({ MACHINE_LEARNING_OCR_TESSDATA_URL: "http://mirror.lan/tessdata/" }).tessdataUrl;
    expect(mirror).toBe("http://mirror.lan/tessdata");
    expect(tessdataSource(mirror, "deu", network).label).toBe("http://mirror.lan/tessdata/deu/4.0.0_best_int/deu.traineddata.gz");
  });
});

describe("tesseract page → OCR response lines", () => {
  const line = (text: string, confidence: number, bbox = { x0: 10, y0: 20, x1: 110, y1: 40 }): TesseractLine => ({ text, confidence, bbox });

  test("keeps lines strictly above minScore, trimmed, boxes as normalised TL TR BR BL corners", () => {
    const page = {
      blocks: [
        {
          paragraphs: [
            { lines: [line("DOUBLE\n", 96), line("noise", 80), line("  \n", 99)] },
            { lines: [line("PARKING", 81, { x0: 0, y0: 50, x1: 200, y1: 100 })] },
          ],
        },
      ],
    };
    const out = pageLines(page, 200, 100, 0.8);
    expect(out.text).toEqual(["DOUBLE", "PARKING"]);
    expect(Array.from(out.box)).toEqual(Array.from(Float32Array.of(0.05, 0.2, 0.55, 0.2, 0.55, 0.4, 0.05, 0.4, 0, 0.5, 1, 0.5, 1, 1, 0, 1)));
    expect(Array.from(out.textScore)).toEqual(Array.from(Float32Array.of(0.96, 0.81)));
    expect(Array.from(out.boxScore)).toEqual(Array.from(out.textScore));
  });

  test("a page with no blocks has no lines", () => {
    expect(pageLines({ blocks: null }, 10, 10, 0.8)).toEqual({
      text: [],
      box: new Float32Array(0),
      boxScore: new Float32Array(0),
      textScore: new Float32Array(0),
    });
  });

  test("the PPM header reaches past byte 500, where tesseract.js looks for an EXIF orientation", () => {
    const image = { width: 2, height: 1, data: Uint8Array.of(1, 18, 0, 3, 0, 0) };
    const pnm = pnmImage(image);
    const header = new TextDecoder().decode(pnm.subarray(0, pnm.length - 6));
    expect(header).toStartWith("P6\n#");
    expect(header).toEndWith("\n2 1\n255\n");
    expect(pnm.length - 6).toBeGreaterThan(500);
    expect(Array.from(pnm.subarray(-6))).toEqual([1, 18, 0, 3, 0, 0]);
  });
});

describe("tesseract over HTTP, offline", () => {
  test("English needs no download, even with downloads disabled", async () => {
    const server = await startTestServer({ HF_HUB_OFFLINE: "1" });
    try {
      const res = await predict(server.url, ocrEntries("tesseract"), { image: blank });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ ocr: EMPTY, imageHeight: 240, imageWidth: 320 });
      expect(existsSync(join(server.cacheFolder, "ocr"))).toBe(false);
    } finally {
      await server.stop();
    }
  });

  test("detection alone answers the whole image as one region", async () => {
    const server = await startTestServer();
    try {
      const res = await predict(server.url, { ocr: { detection: { modelName: "tesseract" } } }, { image: blank });
      expect(await res.json()).toEqual({
        ocr: {
          boxes: [
            [
              [0, 0],
              [319, 0],
              [319, 239],
              [0, 239],
            ],
          ],
          scores: [1],
        },
        imageHeight: 240,
        imageWidth: 320,
      });
    } finally {
      await server.stop();
    }
  });

  describe("MACHINE_LEARNING_OCR_FALLBACK, PP-OCR unreachable", () => {
    // Empty cache; ModelScope replaced by a port nothing listens on.
    const unreachable = { MACHINE_LEARNING_OCR_MODEL_URL: "http://127.0.0.1:9" };

    test("without it, a PP-OCR request gets 503 naming the model", async () => {
      const server = await startTestServer(unreachable);
      try {
        const res = await predict(server.url, ocrEntries("PP-OCRv5_mobile"), { image: blank });
        expect(res.status).toBe(503);
        expect(((await res.json()) as { detail: string }).detail).toStartWith("Model 'PP-OCRv5_mobile' is not available");
      } finally {
        await server.stop();
      }
    });

    test("with it, the same request is answered by tesseract", async () => {
      const server = await startTestServer({ ...unreachable, MACHINE_LEARNING_OCR_FALLBACK: "tesseract" });
      try {
        const res = await predict(server.url, ocrEntries("PP-OCRv5_mobile"), { image: blank });
        expect(res.status).toBe(200);
        expect(await res.json()).toEqual({ ocr: EMPTY, imageHeight: 240, imageWidth: 320 });
        expect(
          server.service.cache
            .loaded()
            .map((m) => `${m.type} ${m.name}`)
            .sort(),
        ).toEqual(["detection tesseract", "recognition tesseract"]);
      } finally {
        await server.stop();
      }
    });
  });
});

describe("tesseract language downloads", () => {
  // A local stand-in for jsDelivr. There is no German data offline: it serves the English data under
  // deu's name, which Tesseract loads all the same.
  let mirror: ReturnType<typeof Bun.serve>;
  const requests: string[] = [];
  let server: TestServer;

  beforeAll(async () => {
    mirror = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch(request) {
        const path = new URL(request.url).pathname;
        requests.push(path);
        if (path === "/npm/@tesseract.js-data/deu/4.0.0_best_int/deu.traineddata.gz") return new Response(ENGLISH_DATA);
        if (path === "/npm/@tesseract.js-data/ita/4.0.0_best_int/ita.traineddata.gz") return new Response(Bun.gzipSync("not language data"));
        return new Response("not found", { status: 404 });
      },
    });
    server = await startTestServer({ MACHINE_LEARNING_OCR_TESSDATA_URL: `http://127.0.0.1:${mirror.port}/npm/@tesseract.js-data` });
  });
  afterAll(async () => {
    await server.stop();
    await mirror.stop(true);
  });

  test("tesseract__deu is fetched once into <cache>/ocr/tesseract__deu/recognition/ and served", async () => {
    const res = await predict(server.url, ocrEntries("tesseract__deu"), { image: blank });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ocr: EMPTY, imageHeight: 240, imageWidth: 320 });
    expect(requests).toEqual(["/npm/@tesseract.js-data/deu/4.0.0_best_int/deu.traineddata.gz"]);
    const file = join(server.cacheFolder, "ocr", "tesseract__deu", "recognition", "deu.traineddata.gz");
    expect(readFileSync(file).equals(ENGLISH_DATA)).toBe(true);
  });

  test("a language the mirror does not have gets 503 naming the model", async () => {
    const res = await predict(server.url, ocrEntries("tesseract__fra"), { image: blank });
    expect(res.status).toBe(503);
    const { detail } = (await res.json()) as { detail: string };
    expect(detail).toContain("Model 'tesseract__fra' is not available");
    expect(detail).toContain("fra.traineddata.gz answered 404");
    expect(existsSync(join(server.cacheFolder, "ocr", "tesseract__fra", "recognition", "fra.traineddata.gz"))).toBe(false);
  });

  test("data Tesseract cannot load is fetched again once, then the request fails and the service stays up", async () => {
    requests.length = 0;
    const res = await predict(server.url, ocrEntries("tesseract__ita"), { image: blank });
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ detail: "Failed to load model 'tesseract__ita': tesseract: initialization failed" });
    expect(requests).toEqual(Array(2).fill("/npm/@tesseract.js-data/ita/4.0.0_best_int/ita.traineddata.gz"));
    expect(await (await fetch(`${server.url}/ping`)).text()).toBe("pong");
  });
});

describe("tesseract languages loaded at once", () => {
  // A mirror with (English) data under every language's name.
  let mirror: ReturnType<typeof Bun.serve>;
  let server: TestServer;
  beforeAll(async () => {
    mirror = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response(ENGLISH_DATA) });
    server = await startTestServer({ MACHINE_LEARNING_OCR_TESSDATA_URL: `http://127.0.0.1:${mirror.port}` });
  });
  afterAll(async () => {
    await server.stop();
    await mirror.stop(true);
  });

  test(`beyond ${MAX_TESSERACT_LANGUAGES}, another language gets 503 and starts no worker; another service has its own ${MAX_TESSERACT_LANGUAGES}`, async () => {
    const languages = ["deu", "nld", "dan", "swe", "fin"];
    for (const language of languages.slice(0, MAX_TESSERACT_LANGUAGES)) {
      expect((await predict(server.url, ocrEntries(`tesseract__${language}`), { image: blank })).status).toBe(200);
    }
    const res = await predict(server.url, ocrEntries("tesseract__fin"), { image: blank });
    expect(res.status).toBe(503);
    expect(((await res.json()) as { detail: string }).detail).toContain(
      `${MAX_TESSERACT_LANGUAGES} Tesseract languages are loaded already (deu, nld, dan, swe)`,
    );
    const recognisers = () =>
      server.service.cache
        .loaded()
        .filter((m) => m.type === "recognition")
        .map((m) => m.name)
        .sort();
    expect(recognisers()).toEqual(["tesseract__dan", "tesseract__deu", "tesseract__nld", "tesseract__swe"]);
    // A loaded language is still served.
    expect((await predict(server.url, ocrEntries("tesseract__deu"), { image: blank })).status).toBe(200);
    // The cap is each service's: another one in this process loads a fifth language.
    const other = await startTestServer({ MACHINE_LEARNING_OCR_TESSDATA_URL: `http://127.0.0.1:${mirror.port}` });
    try {
      expect((await predict(other.url, ocrEntries("tesseract__fin"), { image: blank })).status).toBe(200);
    } finally {
      await other.stop();
    }
  }, 60_000);
});
