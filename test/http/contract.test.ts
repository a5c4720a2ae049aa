/** The HTTP contract of spec §1: endpoints, both multipart encodings, every error row. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { handBuiltMultipart, predict, startTestServer, type TestServer } from "../support/test-server.ts";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { writeClipModel } from "../support/clip-cache.ts";
import { repoRoot } from "../support/fixtures.ts";
import { buildModel } from "../support/onnx-builder.ts";

const sharp: typeof import("sharp").default = require("sharp");
const CLIP = "ViT-B-32__openai";
const TEXT_ENTRIES = { clip: { textual: { modelName: CLIP } } };
const IMAGE_ENTRIES = { clip: { visual: { modelName: CLIP } } };

// A text tower whose embedding is 512 of the golden edge-case values (scripts/reference/orjson_floats.py):
// the response must carry orjson's printing of exactly those float32 values.
const ORJSON_CLIP = "ViT-B-16__openai";
const ORJSON_ENTRIES = { clip: { textual: { modelName: ORJSON_CLIP } } };
const ORJSON_EMBEDDING = (() => {
  const golden = JSON.parse(readFileSync(join(repoRoot, "test/golden/orjson/float32.json"), "utf8")) as {
    edgeBits: number[];
    edgeText: string;
  };
  const tokens = golden.edgeText.slice(1, -1).split(",");
  const picked = [...golden.edgeBits.keys()].filter((i) => i < 256 || i >= golden.edgeBits.length - 256);
  return {
    values: new Float32Array(Uint32Array.from(picked.map((i) => golden.edgeBits[i]!)).buffer),
    text: `[${picked.map((i) => tokens[i]).join(",")}]`,
  };
})();

function constantTextualModel(values: Float32Array): Uint8Array {
  return buildModel({
    inputs: [{ name: "text", type: "int32", shape: [1, 77] }],
    outputs: [{ name: "embedding", type: "float32", shape: [1, values.length] }],
    initializers: [{ name: "constant", dims: [1, values.length], values }],
    nodes: [{ op: "Identity", inputs: ["constant"], outputs: ["embedding"] }],
  });
}

let server: TestServer;
let jpeg: Uint8Array;

beforeAll(async () => {
  server = await startTestServer({}, (cache) => {
    writeClipModel(cache, CLIP);
    const dir = writeClipModel(cache, ORJSON_CLIP);
    writeFileSync(join(dir, "textual", "model.onnx"), constantTextualModel(ORJSON_EMBEDDING.values));
  });
  jpeg = new Uint8Array(
    await sharp({ create: { width: 600, height: 800, channels: 3, background: { r: 20, g: 120, b: 200 } } })
      .jpeg()
      .toBuffer(),
  );
});
afterAll(() => server.stop());

describe("fixed endpoints", () => {
  test("GET / answers upstream's banner", async () => {
    const res = await fetch(`${server.url}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toStartWith("application/json");
    expect(await res.text()).toBe('{"message":"Immich ML"}');
  });

  test("GET /ping answers plain-text pong", async () => {
    const res = await fetch(`${server.url}/ping`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toStartWith("text/plain");
    expect(await res.text()).toBe("pong");
  });

  test("unknown path is a FastAPI-style 404", async () => {
    const res = await fetch(`${server.url}/nope`);
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ detail: "Not Found" });
  });

  test("wrong method is a FastAPI-style 405", async () => {
    const res = await fetch(`${server.url}/predict`);
    expect(res.status).toBe(405);
    expect(await res.json()).toEqual({ detail: "Method Not Allowed" });
    const post = await fetch(`${server.url}/ping`, { method: "POST" });
    expect(post.status).toBe(405);
  });

  test("OpenAPI document describes /predict and Swagger UI is served", async () => {
    const spec = (await (await fetch(`${server.url}/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
    expect(Object.keys(spec.paths)).toEqual(expect.arrayContaining(["/", "/ping", "/predict"]));
    const predictDoc = JSON.stringify(spec.paths["/predict"]);
    expect(predictDoc).toContain("multipart/form-data");
    expect(predictDoc).toContain("entries");
    const docs = await fetch(`${server.url}/docs`);
    expect(docs.status).toBe(200);
    expect(await docs.text()).toContain("swagger");
  });

  test("/metrics exposes the Prometheus series after a prediction", async () => {
    await predict(server.url, TEXT_ENTRIES, { text: "metrics please" });
    const res = await fetch(`${server.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/plain");
    const text = await res.text();
    for (const series of [
      'immich_ml_requests_total{task="clip",type="textual",model="ViT-B-32__openai",status="200"}',
      "immich_ml_request_duration_seconds_bucket",
      'immich_ml_inference_duration_seconds_count{task="clip",type="textual",model="ViT-B-32__openai"}',
      'immich_ml_model_load_seconds{task="clip",type="textual",model="ViT-B-32__openai"}',
      "immich_ml_requests_in_flight",
      "immich_ml_queue_depth",
      "immich_ml_loaded_models",
      "immich_ml_process_resident_memory_bytes",
      "immich_ml_nodejs_heap_size_used_bytes",
    ]) {
      expect(text).toContain(series);
    }
    // Left out: collecting them walks the whole JS heap on the HTTP thread (metrics.ts).
    expect(text).not.toContain("nodejs_heap_space_size");
  });

  test("/health reports version, models and queue, and the execution providers once a model has loaded", async () => {
    expect((await predict(server.url, TEXT_ENTRIES, { text: "a photo of a cat" })).status).toBe(200);
    const body = (await (await fetch(`${server.url}/health`)).json()) as Record<string, unknown>;
    expect(body.status).toBe("ok");
    expect(typeof body.version).toBe("string");
    expect(Array.isArray(body.loadedModels)).toBe(true);
    expect(body.providers).toContain("cpu");
  });
});

describe("/predict encodings", () => {
  test("text via FormData + Blob client returns an embedding string", async () => {
    const res = await predict(server.url, TEXT_ENTRIES, { text: "a photo of a cat" });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(Object.keys(body)).toEqual(["clip"]);
    expect(typeof body.clip).toBe("string");
    const values = JSON.parse(body.clip as string) as number[];
    expect(values).toHaveLength(512);
    expect(Math.hypot(...values)).toBeCloseTo(1, 4);
  });

  test("image via hand-built immich-<uuid> multipart carries image size", async () => {
    const { body, contentType } = handBuiltMultipart(JSON.stringify(IMAGE_ENTRIES), { image: jpeg });
    const res = await fetch(`${server.url}/predict`, { method: "POST", body, headers: { "content-type": contentType } });
    expect(res.status).toBe(200);
    const json = (await res.json()) as Record<string, unknown>;
    expect(json.imageHeight).toBe(800);
    expect(json.imageWidth).toBe(600);
    expect(JSON.parse(json.clip as string)).toHaveLength(512);
  });

  test("both encodings give byte-identical answers", async () => {
    const viaForm = await (await predict(server.url, IMAGE_ENTRIES, { image: jpeg })).text();
    const { body, contentType } = handBuiltMultipart(JSON.stringify(IMAGE_ENTRIES), { image: jpeg });
    const viaHand = await (await fetch(`${server.url}/predict`, { method: "POST", body, headers: { "content-type": contentType } })).text();
    expect(viaHand).toBe(viaForm);
  });

  test("embedding string is orjson's bytes for the same float32 values", async () => {
    const body = (await (await predict(server.url, ORJSON_ENTRIES, { text: "any text" })).json()) as { clip: string };
    expect(body.clip).toBe(ORJSON_EMBEDDING.text);
  });

  test("image wins when both image and text are sent; unknown parts are ignored", async () => {
    const form = new FormData();
    form.append("entries", JSON.stringify(IMAGE_ENTRIES));
    form.append("image", new Blob([jpeg]), "blob");
    form.append("text", "ignored");
    form.append("assetId", "abc");
    const res = await fetch(`${server.url}/predict`, { method: "POST", body: form });
    expect(res.status).toBe(200);
    expect(((await res.json()) as Record<string, unknown>).imageWidth).toBe(600);
  });

  test("an image request that also names the text tower gets 400 naming the model that refused it", async () => {
    const entries = { clip: { visual: { modelName: CLIP }, textual: { modelName: CLIP } } };
    const res = await predict(server.url, entries, { image: jpeg });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ detail: `clip textual model '${CLIP}' needs text` });
  });

  test("Accept: application/msgpack returns float32 arrays", async () => {
    const { unpack } = await import("msgpackr");
    const res = await predict(server.url, IMAGE_ENTRIES, { image: jpeg }, { accept: "application/msgpack" });
    expect(res.headers.get("content-type")).toBe("application/msgpack");
    const body = unpack(new Uint8Array(await res.arrayBuffer())) as { clip: number[]; imageWidth: number };
    expect(body.imageWidth).toBe(600);
    const json = (await (await predict(server.url, IMAGE_ENTRIES, { image: jpeg })).json()) as { clip: string };
    expect(body.clip).toEqual((JSON.parse(json.clip) as number[]).map(Math.fround));
  });
});

describe("/predict errors (spec §1.5)", () => {
  const post = (form: FormData) => fetch(`${server.url}/predict`, { method: "POST", body: form });

  test("missing entries → 422 with FastAPI's validation detail", async () => {
    const form = new FormData();
    form.append("text", "hello");
    const res = await post(form);
    expect(res.status).toBe(422);
    const body = (await res.json()) as { detail: Array<{ type: string; loc: string[] }> };
    expect(body.detail[0]).toMatchObject({ type: "missing", loc: ["body", "entries"] });
  });

  for (const [label, entries] of [
    ["not JSON", "{clip"],
    ["a list", "[1,2]"],
    ["a type that is not an object", '{"clip":"visual"}'],
    ["an entry without modelName", '{"clip":{"textual":{"options":{}}}}'],
    ["options that are not an object", '{"clip":{"textual":{"modelName":"ViT-B-32__openai","options":[]}}}'],
  ] as const) {
    test(`entries ${label} → 422 Invalid request format.`, async () => {
      const res = await predict(server.url, entries, { text: "x" });
      expect(res.status).toBe(422);
      expect(await res.json()).toEqual({ detail: "Invalid request format." });
    });
  }

  test("neither image nor text → 400", async () => {
    const res = await predict(server.url, TEXT_ENTRIES, {});
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ detail: "Either image or text must be provided" });
  });

  test("unknown model name → 400 naming it (upstream: 500)", async () => {
    const res = await predict(server.url, { clip: { textual: { modelName: "no-such-model" } } }, { text: "x" });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { detail: string }).detail).toContain("no-such-model");
  });

  test("model of another task → 400 unknown combination", async () => {
    const res = await predict(server.url, { clip: { visual: { modelName: "buffalo_l" } } }, { image: jpeg });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { detail: string }).detail).toContain("buffalo_l");
  });

  test("unknown task or type → 400 naming it", async () => {
    const task = await predict(server.url, { colour: { visual: { modelName: CLIP } } }, { text: "x" });
    expect(task.status).toBe(400);
    expect(((await task.json()) as { detail: string }).detail).toContain("colour");
    const type = await predict(server.url, { clip: { pipeline: { modelName: CLIP } } }, { text: "x" });
    expect(type.status).toBe(400);
  });

  test("no task at all → 422", async () => {
    const res = await predict(server.url, {}, { text: "x" });
    expect(res.status).toBe(422);
  });

  test("undecodable image → 400 naming the problem (upstream: 500)", async () => {
    const res = await predict(server.url, IMAGE_ENTRIES, { image: new TextEncoder().encode("definitely not an image") });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { detail: string }).detail).toMatch(/image/i);
  });

  test("empty image → 400", async () => {
    const res = await predict(server.url, IMAGE_ENTRIES, { image: new Uint8Array(0) });
    expect(res.status).toBe(400);
  });

  test("a non-form content type → 415", async () => {
    const res = await fetch(`${server.url}/predict`, { method: "POST", body: "{}", headers: { "content-type": "application/json" } });
    expect(res.status).toBe(415);
  });

  test("multipart without boundary → 400", async () => {
    const res = await fetch(`${server.url}/predict`, { method: "POST", body: "x", headers: { "content-type": "multipart/form-data" } });
    expect(res.status).toBe(400);
  });

  test("the server keeps serving after all of the above", async () => {
    const res = await predict(server.url, TEXT_ENTRIES, { text: "still alive" });
    expect(res.status).toBe(200);
  });
});
