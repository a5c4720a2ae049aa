/**
 * /openapi.json is valid OpenAPI 3.0 (checked by a real validator), lists every route, describes
 * /predict as the multipart form it is, and its schemas match what the service really answers.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Validator } from "@seriousme/openapi-schema-validator";
import { Value } from "@sinclair/typebox/value";
import sharp from "sharp";
import { createApp } from "../../src/http/app.ts";
import { ErrorResponse, PredictResponse, ValidationErrorResponse } from "../../src/http/schemas.ts";
import { parseEntries } from "../../src/pipeline/entries.ts";
import { writeClipModel } from "../support/clip-cache.ts";
import { startTestServer, type TestServer } from "../support/test-server.ts";

interface Operation {
  requestBody?: { content: Record<string, { schema: { properties: Record<string, unknown> }; examples: Record<string, { value: Record<string, string> }> }> };
  responses: Record<string, { description: string; content?: Record<string, unknown>; headers?: Record<string, unknown> }>;
}
type Document = { openapi: string; paths: Record<string, Record<string, Operation>> };

let server: TestServer;
let document: Document;

beforeAll(async () => {
  server = await startTestServer({ MACHINE_LEARNING_MAX_BODY_BYTES: "200000" }, (cache) => void writeClipModel(cache, "ViT-B-32__openai"));
  document = (await fetch(`${server.url}/openapi.json`).then((r) => r.json())) as Document;
});
afterAll(() => server.stop());

const predict = () => document.paths["/predict"]!.post!;

async function postForm(fields: Record<string, string | Blob>, headers: Record<string, string> = {}): Promise<Response> {
  const form = new FormData();
  for (const [name, value] of Object.entries(fields)) form.set(name, value);
  return fetch(`${server.url}/predict`, { method: "POST", body: form, headers });
}

describe("the OpenAPI document", () => {
  test("is valid OpenAPI 3.0 for an independent validator", async () => {
    const result = await new Validator().validate(document as never);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(document.openapi).toStartWith("3.0.");
  });

  test("lists every route the app serves (its own /docs and /openapi.json aside), with the right method", () => {
    const app = createApp(server.service);
    const served = app.routes
      .filter((route) => !route.path.startsWith("/docs") && route.path !== "/openapi.json")
      .map((route) => `${route.method} ${route.path}`)
      .sort();
    const documented = Object.entries(document.paths)
      .flatMap(([path, operations]) => Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`))
      .sort();
    expect(documented).toEqual(served);
  });

  test("/predict takes multipart only, and each task's example is entries the service accepts", () => {
    const body = predict().requestBody!;
    expect(Object.keys(body.content)).toEqual(["multipart/form-data"]);
    const form = body.content["multipart/form-data"]!;
    expect(Object.keys(form.schema.properties).sort()).toEqual(["entries", "image", "text"]);
    const examples = Object.entries(form.examples);
    expect(examples.map(([name]) => name).sort()).toEqual(["clip-textual", "clip-visual", "faces", "ocr"]);
    for (const [, { value }] of examples) expect(parseEntries(value.entries!).length).toBeGreaterThan(0);
  });

  test("/predict lists every status it can answer, with a body schema where there is a body, and both response media types", () => {
    const responses = predict().responses;
    expect(Object.keys(responses).sort()).toEqual(["200", "400", "413", "415", "422", "500", "502", "503", "504"]);
    expect(Object.keys(responses["200"]!.content!).sort()).toEqual(["application/json", "application/msgpack"]);
    for (const [status, response] of Object.entries(responses)) {
      expect(response.description.length).toBeGreaterThan(0);
      if (status !== "413") expect(response.content).toBeDefined();
    }
    expect(Object.keys(responses["503"]!.headers!)).toEqual(["Retry-After"]);
  });
});

describe("what the service answers matches the document", () => {
  test("200 for a CLIP text query, JSON and MessagePack", async () => {
    const json = await postForm({ entries: '{"clip":{"textual":{"modelName":"ViT-B-32__openai"}}}', text: "a photo of a cat" });
    expect(json.status).toBe(200);
    expect(Value.Check(PredictResponse, await json.json())).toBe(true);
    const packed = await postForm({ entries: '{"clip":{"textual":{"modelName":"ViT-B-32__openai"}}}', text: "a cat" }, { accept: "application/msgpack" });
    expect(packed.headers.get("content-type")).toBe("application/msgpack");
  });

  /** A plain 64×48 JPEG. */
  const photo = async () =>
    new Blob([
      await sharp({ create: { width: 64, height: 48, channels: 3, background: "#3366aa" } })
        .jpeg()
        .toBuffer(),
    ]);

  test("200 for an uploaded image carries the image size", async () => {
    const response = await postForm({ entries: '{"clip":{"visual":{"modelName":"ViT-B-32__openai"}}}', image: await photo() });
    expect(response.status).toBe(200);
    const body = (await response.json()) as Record<string, unknown>;
    expect(Value.Check(PredictResponse, body)).toBe(true);
    expect([body.imageWidth, body.imageHeight]).toEqual([64, 48]);
  });

  test("200 for text detection alone: the detector's raw boxes and scores", async () => {
    // Tesseract's detection needs no model files: the whole image is its one region.
    const response = await postForm({ entries: '{"ocr":{"detection":{"modelName":"tesseract"}}}', image: await photo() });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { ocr: { boxes: number[][][] } };
    expect(body.ocr.boxes).toHaveLength(1);
    expect(Value.Check(PredictResponse, body)).toBe(true);
  });

  test("400, 415, 422 and 503 bodies have the documented shape; 413 is documented as bodiless", async () => {
    const cases: Array<[number, Promise<Response>, typeof ErrorResponse | typeof ValidationErrorResponse]> = [
      [400, postForm({ entries: '{"clip":{"visual":{"modelName":"ViT-B-32__openai"}}}', image: new Blob([new Uint8Array([1, 2, 3])]) }), ErrorResponse],
      [415, fetch(`${server.url}/predict`, { method: "POST", body: "{}", headers: { "content-type": "application/json" } }), ErrorResponse],
      [422, postForm({ text: "no entries" }), ValidationErrorResponse],
      [422, postForm({ entries: "{}", text: "x" }), ValidationErrorResponse],
      [503, postForm({ entries: '{"clip":{"textual":{"modelName":"ViT-L-14__openai"}}}', text: "x" }), ErrorResponse],
    ];
    for (const [status, pending, schema] of cases) {
      const response = await pending;
      expect(response.status).toBe(status);
      expect(Value.Check(schema, await response.json())).toBe(true);
    }
    const tooBig = await postForm({ entries: "{}", image: new Blob([new Uint8Array(300_000)]) }).catch(() => undefined);
    if (tooBig) {
      expect(tooBig.status).toBe(413);
      expect(await tooBig.text()).toBe("");
    }
  });
});

describe("/docs", () => {
  test("the page and its scripts come from the service itself: no URL points elsewhere", async () => {
    const page = await fetch(`${server.url}/docs`);
    expect(page.headers.get("content-type")).toStartWith("text/html");
    const html = await page.text();
    const urls = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => match[1]!);
    expect(urls.sort()).toEqual(["/docs/swagger-ui-bundle.js", "/docs/swagger-ui.css"]);
    expect(html).not.toMatch(/https?:\/\//);
    for (const url of urls) {
      const asset = await fetch(`${server.url}${url}`);
      expect(asset.status).toBe(200);
      expect((await asset.arrayBuffer()).byteLength).toBeGreaterThan(10_000);
    }
    expect((await fetch(`${server.url}/docs/swagger-ui-bundle.js`)).headers.get("content-type")).toStartWith("text/javascript");
    expect((await fetch(`${server.url}/docs/../package.json`)).status).toBe(404);
    expect((await fetch(`${server.url}/docs/index.html`)).status).toBe(404);
  });
});
