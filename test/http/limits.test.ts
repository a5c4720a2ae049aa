/**
 * The service's limits hold under real slow work: a prediction past MACHINE_LEARNING_REQUEST_TIMEOUT_S
 * is answered 504 while the server goes on serving, and requests beyond MAX_CONCURRENT + MAX_QUEUED
 * are refused at once with 503 and Retry-After. Work a timed-out request no longer needs is dropped:
 * runs still queued on the inference thread are skipped, and a request still waiting for a slot at
 * its deadline leaves the queue with 503. The slow work is a stand-in CLIP visual model with many
 * dense layers (hundreds of ms per image on one thread; `layers: 48` about four times that).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { predict, startTestServer, type TestServer } from "../support/test-server.ts";
import { writeClipModel } from "../support/clip-cache.ts";
import { heavyVisualModel } from "../support/onnx-builder.ts";

const sharp: typeof import("sharp").default = require("sharp");
const MODEL = "ViT-B-32__openai";
const VISUAL = { clip: { visual: { modelName: MODEL } } };
const TEXTUAL = { clip: { textual: { modelName: MODEL } } };
let jpeg: Uint8Array;

beforeAll(async () => {
  jpeg = new Uint8Array(await sharp({ create: { width: 320, height: 240, channels: 3, background: { r: 9, g: 99, b: 199 } } }).jpeg().toBuffer());
});

/**
 * A server whose cached CLIP model has a slow visual tower of `layers` dense layers (12: a few
 * hundred ms per image on one thread, 48: about four times that); both towers loaded before serving.
 */
function startSlowServer(env: Record<string, string>, layers = 12): Promise<TestServer> {
  return startTestServer({ MACHINE_LEARNING_PRELOAD__CLIP__TEXTUAL: MODEL, MACHINE_LEARNING_PRELOAD__CLIP__VISUAL: MODEL, ...env }, (cache) => {
    const dir = writeClipModel(cache, MODEL);
    writeFileSync(join(dir, "visual", "model.onnx"), heavyVisualModel({ layers }));
  });
}

/** The `immich_ml_stage_duration_seconds` count of the visual session's runs in `phase`. */
function visualStageCount(metrics: string, phase: "run" | "abandoned"): number {
  const line = metrics.split("\n").find((l) => l.startsWith(`immich_ml_stage_duration_seconds_count{stage="session:${MODEL}/visual",phase="${phase}"}`));
  return line ? Number(line.split(" ").at(-1)) : 0;
}

async function visualInFlight(server: TestServer): Promise<number> {
  const health = (await (await fetch(`${server.url}/health`)).json()) as { loadedModels: Array<{ type: string; inFlight: number }> };
  return health.loadedModels.find((m) => m.type === "visual")?.inFlight ?? 0;
}

describe("request timeout", () => {
  let server: TestServer;
  beforeAll(async () => {
    // The deadline falls inside the run (about 0.7 s), well after decoding and pre-processing
    // (including starting the pre-processing worker) have handed it to onnxruntime.
    server = await startSlowServer({ MACHINE_LEARNING_REQUEST_TIMEOUT_S: "0.3", MACHINE_LEARNING_MAX_CONCURRENT_REQUESTS: "1" }, 48);
  });
  afterAll(() => server.stop());

  test("a prediction slower than the limit gets 504 and the server keeps serving", async () => {
    const started = performance.now();
    const res = await predict(server.url, VISUAL, { image: jpeg });
    const elapsed = performance.now() - started;
    expect(res.status).toBe(504);
    expect(((await res.json()) as { detail: string }).detail).toContain("MACHINE_LEARNING_REQUEST_TIMEOUT_S");
    // Answered at the deadline, not when the inference finished.
    expect(elapsed).toBeLessThan(600);
    expect(await (await fetch(`${server.url}/ping`)).text()).toBe("pong");
    // An inference cannot be cancelled: the abandoned run keeps its model and its admission slot
    // until it ends, so timed-out work cannot pile up past MAX_CONCURRENT_REQUESTS.
    const health = (await (await fetch(`${server.url}/health`)).json()) as { inFlight: number };
    expect([health.inFlight, await visualInFlight(server)]).toEqual([1, 1]);
    for (let i = 0; i < 200 && (await visualInFlight(server)) > 0; i++) await Bun.sleep(25);
    expect(await visualInFlight(server)).toBe(0);
    // Then predictions are served as usual.
    expect((await predict(server.url, TEXTUAL, { text: "a photo of a cat" })).status).toBe(200);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toContain(`immich_ml_requests_total{task="clip",type="visual",model="${MODEL}",status="504"} 1`);
  });
});

describe("abandoned work", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startSlowServer({ MACHINE_LEARNING_REQUEST_TIMEOUT_S: "0.4", MACHINE_LEARNING_MAX_CONCURRENT_REQUESTS: "4" }, 48);
  });
  afterAll(() => server.stop());

  test("runs still queued on the inference thread when their requests time out are skipped", async () => {
    // Four at once: the first run occupies the visual session's thread past every deadline; the
    // three queued behind it belong to requests answered 504 by the time the thread is free.
    const responses = await Promise.all(Array.from({ length: 4 }, () => predict(server.url, VISUAL, { image: jpeg })));
    expect(responses.map((r) => r.status)).toEqual([504, 504, 504, 504]);
    for (let i = 0; i < 200 && (await visualInFlight(server)) > 0; i++) await Bun.sleep(25);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect([visualStageCount(metrics, "run"), visualStageCount(metrics, "abandoned")]).toEqual([1, 3]);
    expect(metrics).toContain(`immich_ml_request_duration_seconds_count{task="clip",type="visual",model="${MODEL}",status="504"} 4`);
    const health = (await (await fetch(`${server.url}/health`)).json()) as { inFlight: number };
    expect(health.inFlight).toBe(0);
    expect((await predict(server.url, TEXTUAL, { text: "a photo of a cat" })).status).toBe(200);
  });
});

describe("queue deadline", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startSlowServer({ MACHINE_LEARNING_REQUEST_TIMEOUT_S: "0.4", MACHINE_LEARNING_MAX_CONCURRENT_REQUESTS: "1" }, 48);
  });
  afterAll(() => server.stop());

  test("a request still waiting for a slot at its deadline gets 503 with Retry-After and never runs", async () => {
    const [running, waiting] = await Promise.all([predict(server.url, VISUAL, { image: jpeg }), predict(server.url, VISUAL, { image: jpeg })]);
    expect(running.status).toBe(504);
    expect(waiting.status).toBe(503);
    expect(waiting.headers.get("retry-after")).toBe("1");
    expect(((await waiting.json()) as { detail: string }).detail).toContain("No free slot within 0.4 s");
    for (let i = 0; i < 200 && (await visualInFlight(server)) > 0; i++) await Bun.sleep(25);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(visualStageCount(metrics, "run") + visualStageCount(metrics, "abandoned")).toBe(1);
    const health = (await (await fetch(`${server.url}/health`)).json()) as { inFlight: number; queued: number };
    expect([health.inFlight, health.queued]).toEqual([0, 0]);
  });
});

describe("bounded queue", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startSlowServer({ MACHINE_LEARNING_MAX_CONCURRENT_REQUESTS: "1", MACHINE_LEARNING_MAX_QUEUED_REQUESTS: "1" });
  });
  afterAll(() => server.stop());

  test("beyond MAX_CONCURRENT + MAX_QUEUED a request gets 503 with Retry-After at once", async () => {
    // Six slow requests at once: one runs, one waits, four are refused.
    const responses = await Promise.all(Array.from({ length: 6 }, () => predict(server.url, VISUAL, { image: jpeg })));
    const statuses = responses.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 200, 503, 503, 503, 503]);
    for (const res of responses.filter((r) => r.status === 503)) {
      expect(res.headers.get("retry-after")).toBe("1");
      expect(((await res.json()) as { detail: string }).detail).toContain("capacity");
    }
    // The slots are given back: the next request is served.
    expect((await predict(server.url, TEXTUAL, { text: "a photo of a dog" })).status).toBe(200);
    const health = (await (await fetch(`${server.url}/health`)).json()) as { inFlight: number; queued: number };
    expect([health.inFlight, health.queued]).toEqual([0, 0]);
  });
});
