/**
 * Bad input never hurts the service: each hostile request gets a clear 4xx (or a correct 200 for
 * odd-but-valid images) and the server keeps answering. The long generated run is `npm run fuzz`.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { predict, startTestServer, type TestServer } from "../support/test-server.ts";
import { writeClipModel } from "../support/clip-cache.ts";
import { declaredPng, SVG_FILTER_BOMB } from "../support/fuzz/image-corpus.ts";

const sharp: typeof import("sharp").default = require("sharp");
const VISUAL = { clip: { visual: { modelName: "ViT-B-32__openai" } } };
let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({ MACHINE_LEARNING_MAX_BODY_BYTES: String(4 * 1024 * 1024), MACHINE_LEARNING_MAX_IMAGE_PIXELS: "50000000" }, (cache) =>
    writeClipModel(cache, "ViT-B-32__openai"),
  );
});
afterAll(() => server.stop());

const solid = (width: number, height: number, channels: 1 | 3 | 4 = 3) => {
  const image = sharp({ create: { width, height, channels: channels === 4 ? 4 : 3, background: { r: 200, g: 100, b: 50, alpha: 0.5 } } });
  return channels === 1 ? image.greyscale() : image;
};

describe("hostile images get a clear 4xx", () => {
  const cases: Array<[string, () => Promise<Uint8Array> | Uint8Array]> = [
    ["random bytes", () => crypto.getRandomValues(new Uint8Array(4096))],
    ["a truncated JPEG", async () => (await solid(300, 200).jpeg().toBuffer()).subarray(0, 200)],
    [
      "a JPEG header with garbage after it",
      async () => {
        const jpeg = await solid(300, 200).jpeg().toBuffer();
        const broken = Buffer.from(jpeg);
        broken.fill(0x55, 400);
        return broken;
      },
    ],
    ["a truncated PNG", async () => (await solid(300, 200).png().toBuffer()).subarray(0, 60)],
    ["a truncated WebP", async () => (await solid(300, 200).webp().toBuffer()).subarray(0, 40)],
    ["a truncated GIF", async () => (await solid(300, 200).gif().toBuffer()).subarray(0, 30)],
    ["a truncated TIFF", async () => (await solid(300, 200).tiff().toBuffer()).subarray(0, 100)],
    ["a 30000x30000 pixel bomb", () => declaredPng(30000, 30000)],
    ["text pretending to be an image", () => new TextEncoder().encode("<svg")],
  ];
  for (const [label, make] of cases) {
    test(label, async () => {
      const res = await predict(server.url, VISUAL, { image: await make() });
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      const body = (await res.json()) as { detail: string };
      expect(typeof body.detail).toBe("string");
      expect(body.detail.length).toBeGreaterThan(5);
    });
  }
});

describe("odd but valid images are served", () => {
  const cases: Array<[string, () => Promise<Buffer>, [number, number]]> = [
    ["1x1", () => solid(1, 1).png().toBuffer(), [1, 1]],
    ["greyscale", () => solid(64, 48, 1).png().toBuffer(), [64, 48]],
    ["RGBA with alpha", () => solid(64, 48, 4).png().toBuffer(), [64, 48]],
    ["16-bit PNG", () => solid(64, 48).png().toColourspace("rgb16").toBuffer(), [64, 48]],
    ["CMYK JPEG", () => solid(64, 48).jpeg().toColourspace("cmyk").toBuffer(), [64, 48]],
    [
      "animated GIF (first frame)",
      async () => {
        const frames = await Promise.all([solid(32, 24).png().toBuffer(), solid(32, 24, 1).png().toBuffer()]);
        return sharp(frames, { join: { animated: true } })
          .gif()
          .toBuffer();
      },
      [32, 24],
    ],
    ["extreme aspect ratio 4000x3", () => solid(4000, 3).png().toBuffer(), [4000, 3]],
    ["AVIF", () => solid(64, 48).avif().toBuffer(), [64, 48]],
    ["HEIF/AVIF-in-HEIF container", () => solid(64, 48).heif({ compression: "av1" }).toBuffer(), [64, 48]],
  ];
  for (const [label, make, [width, height]] of cases) {
    test(label, async () => {
      const res = await predict(server.url, VISUAL, { image: new Uint8Array(await make()) });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { imageWidth: number; imageHeight: number; clip: string };
      expect([body.imageWidth, body.imageHeight]).toEqual([width, height]);
      expect(JSON.parse(body.clip)).toHaveLength(512);
    });
  }
});

describe("hostile requests", () => {
  test("a body over the limit → 413 and the server keeps serving", async () => {
    const res = await predict(server.url, VISUAL, { image: new Uint8Array(5 * 1024 * 1024) }).catch((error: Error) => error);
    if (res instanceof Response) expect(res.status).toBe(413);
    else expect(res.message).toMatch(/reset|closed|socket/i);
    expect((await fetch(`${server.url}/ping`)).status).toBe(200);
  });

  test("a 1 MB text query is answered", async () => {
    const text = "a photo of a cat ".repeat(62_000);
    const res = await predict(server.url, { clip: { textual: { modelName: "ViT-B-32__openai" } } }, { text });
    expect(res.status).toBe(200);
  });

  test("huge entries JSON with unknown tasks → 400, not a crash", async () => {
    const entries = JSON.stringify(Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`task${i}`, { visual: { modelName: "x" } }])));
    const res = await predict(server.url, entries, { text: "x" });
    expect(res.status).toBe(400);
  });

  test("deeply nested entries → 422", async () => {
    const res = await predict(server.url, "[".repeat(10000) + "]".repeat(10000), { text: "x" });
    expect(res.status).toBe(422);
  });

  test("duplicate parts: the first entries part is used", async () => {
    const form = new FormData();
    form.append("entries", JSON.stringify({ clip: { textual: { modelName: "ViT-B-32__openai" } } }));
    form.append("entries", "not json");
    form.append("text", "a photo of a cat");
    const res = await fetch(`${server.url}/predict`, { method: "POST", body: form });
    expect(res.status).toBe(200);
  });

  test("a text part named image is treated as image bytes and refused as an image", async () => {
    const form = new FormData();
    form.append("entries", JSON.stringify(VISUAL));
    form.append("image", "hello");
    const res = await fetch(`${server.url}/predict`, { method: "POST", body: form });
    expect(res.status).toBe(400);
  });

  test("after all that, memory and service are fine", async () => {
    const res = await predict(server.url, VISUAL, { image: new Uint8Array(await solid(640, 480).jpeg().toBuffer()) });
    expect(res.status).toBe(200);
  });
});

describe("formats outside JPEG, PNG, WebP, GIF, TIFF and AVIF are refused from their header", () => {
  const cases: Array<[string, () => Promise<Uint8Array> | Uint8Array, string]> = [
    ["an SVG filter bomb (librsvg would render it for minutes)", () => SVG_FILTER_BOMB, "SVG"],
    [
      "an SVG with text (fontconfig would write its cache)",
      () => new TextEncoder().encode('<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"><text>a</text></svg>'),
      "SVG",
    ],
    ["a PDF", () => new TextEncoder().encode("%PDF-1.7\n%%EOF"), "PDF"],
    [
      "a PPM (libvips and Pillow read it, Immich never sends it)",
      () => new Uint8Array([...new TextEncoder().encode("P6\n2 2\n255\n"), ...new Uint8Array(12).fill(9)]),
      "unknown",
    ],
  ];
  for (const [label, make, named] of cases) {
    test(label, async () => {
      const started = performance.now();
      const res = await predict(server.url, VISUAL, { image: await make() });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { detail: string }).detail).toStartWith(`Unsupported image format: ${named}. Send JPEG, PNG, WebP, GIF, TIFF or AVIF`);
      // Refused before any decoder: the bomb would take minutes.
      expect(performance.now() - started).toBeLessThan(5_000);
    });
  }
});
