/**
 * The service's limits hold under real slow work: a prediction past MACHINE_LEARNING_REQUEST_TIMEOUT_S
 * is answered 504 while the server goes on serving, and requests beyond MAX_CONCURRENT + MAX_QUEUED
 * are refused at once with 503 and Retry-After. Work a timed-out request no longer needs is dropped:
 * runs still queued on the inference thread are skipped, and a request still waiting for a slot at
 * its deadline leaves the queue with 503. The slow work is a stand-in CLIP visual model with many
 * dense layers, sized on this machine (support/slow-model.ts) so that one run lasts several times
 * the deadline whatever the machine's speed.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { predict, startTestServer, type TestServer } from "../support/test-server.ts";
import { writeClipModel } from "../support/clip-cache.ts";
import { slowVisualModel, type SlowModel } from "../support/slow-model.ts";
import { waitUntil } from "../support/wait-until.ts";
import { stageCount } from "../support/stage-count.ts";

// Each run lasts at least 2.5 s by design, several times that on a busy 2-core machine, and the
// hooks time and open the slow model.
setDefaultTimeout(30_000);

const sharp: typeof import("sharp").default = require("sharp");
const MODEL = "ViT-B-32__openai";
const VISUAL = { clip: { visual: { modelName: MODEL } } };
const TEXTUAL = { clip: { textual: { modelName: MODEL } } };
/**
 * The request deadline of the timeout tests: long enough for decoding and pre-processing (including
 * starting the pre-processing worker) on a busy machine, so that it falls inside the model's run.
 */
const DEADLINE_S = 0.5;
let jpeg: Uint8Array;
/** A visual tower whose run lasts at least five deadlines on this machine. */
let slow: SlowModel;
/** One whose run lasts long enough for six requests sent together to arrive while it runs. */
let busy: SlowModel;

beforeAll(async () => {
  jpeg = new Uint8Array(
    await sharp({ create: { width: 320, height: 240, channels: 3, background: { r: 9, g: 99, b: 199 } } })
      .jpeg()
      .toBuffer(),
  );
  slow = await slowVisualModel(5 * DEADLINE_S * 1000);
  busy = await slowVisualModel(500);
});

/** A server whose cached CLIP model has the slow visual tower `model`; both towers loaded before serving. */
function startSlowServer(env: Record<string, string>, model: Uint8Array): Promise<TestServer> {
  return startTestServer({ MACHINE_LEARNING_PRELOAD__CLIP__TEXTUAL: MODEL, MACHINE_LEARNING_PRELOAD__CLIP__VISUAL: MODEL, ...env }, (cache) => {
    const dir = writeClipModel(cache, MODEL);
    writeFileSync(join(dir, "visual", "model.onnx"), model);
  });
}

/** The visual session's count of runs in `phase` in a /metrics text. */
function visualStageCount(metrics: string, phase: "run" | "abandoned"): number {
  return stageCount(metrics, `session:${MODEL}/visual`, phase);
}

async function visualInFlight(server: TestServer): Promise<number> {
  const health = (await (await fetch(`${server.url}/health`)).json()) as { loadedModels: Array<{ type: string; inFlight: number }> };
  return health.loadedModels.find((m) => m.type === "visual")?.inFlight ?? 0;
}

/** Waits until the abandoned run inside onnxruntime has ended (it cannot be stopped). */
async function runsEnded(server: TestServer): Promise<void> {
  await waitUntil(async () => (await visualInFlight(server)) === 0, "the abandoned run to end", 4 * slow.expectedRunMs + 5000);
}

describe("request timeout", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startSlowServer({ MACHINE_LEARNING_REQUEST_TIMEOUT_S: String(DEADLINE_S), MACHINE_LEARNING_MAX_CONCURRENT_REQUESTS: "1" }, slow.model);
  });
  afterAll(() => server.stop());

  test("a prediction slower than the limit gets 504 and the server keeps serving", async () => {
    const started = performance.now();
    const res = await predict(server.url, VISUAL, { image: jpeg });
    const elapsed = performance.now() - started;
    expect(res.status).toBe(504);
    expect(((await res.json()) as { detail: string }).detail).toContain("MACHINE_LEARNING_REQUEST_TIMEOUT_S");
    // Answered at the deadline, not when the inference finished (halfway between the two).
    expect(elapsed).toBeGreaterThan(DEADLINE_S * 1000 - 5); // timers may fire a tick early
    expect(elapsed).toBeLessThan((DEADLINE_S * 1000 + slow.expectedRunMs) / 2);
    expect(await (await fetch(`${server.url}/ping`)).text()).toBe("pong");
    // An inference cannot be cancelled: the abandoned run keeps its model and its admission slot
    // until it ends, so timed-out work cannot pile up past MAX_CONCURRENT_REQUESTS.
    const health = (await (await fetch(`${server.url}/health`)).json()) as { inFlight: number };
    expect([health.inFlight, await visualInFlight(server)]).toEqual([1, 1]);
    await runsEnded(server);
    // Then predictions are served as usual.
    expect((await predict(server.url, TEXTUAL, { text: "a photo of a cat" })).status).toBe(200);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toContain(`immich_ml_requests_total{task="clip",type="visual",model="${MODEL}",status="504"} 1`);
  });
});

describe("abandoned work", () => {
  let server: TestServer;
  beforeAll(async () => {
    // One inference thread: runs of one model wait for each other (with more, as many run at once).
    server = await startSlowServer(
      { MACHINE_LEARNING_REQUEST_TIMEOUT_S: String(DEADLINE_S), MACHINE_LEARNING_MAX_CONCURRENT_REQUESTS: "4", MACHINE_LEARNING_INFERENCE_THREADS: "1" },
      slow.model,
    );
  });
  afterAll(() => server.stop());

  test("runs still queued on the inference thread when their requests time out are skipped", async () => {
    // Four at once: the first run occupies the inference thread past every deadline; the
    // three queued behind it belong to requests answered 504 by the time the thread is free.
    const responses = await Promise.all(Array.from({ length: 4 }, () => predict(server.url, VISUAL, { image: jpeg })));
    expect(responses.map((r) => r.status)).toEqual([504, 504, 504, 504]);
    await runsEnded(server);
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
    server = await startSlowServer({ MACHINE_LEARNING_REQUEST_TIMEOUT_S: String(DEADLINE_S), MACHINE_LEARNING_MAX_CONCURRENT_REQUESTS: "1" }, slow.model);
  });
  afterAll(() => server.stop());

  test("a request still waiting for a slot at its deadline gets 503 with Retry-After and never runs", async () => {
    const [running, waiting] = await Promise.all([predict(server.url, VISUAL, { image: jpeg }), predict(server.url, VISUAL, { image: jpeg })]);
    expect(running.status).toBe(504);
    expect(waiting.status).toBe(503);
    expect(waiting.headers.get("retry-after")).toBe("1");
    expect(((await waiting.json()) as { detail: string }).detail).toContain(`No free slot within ${DEADLINE_S} s`);
    await runsEnded(server);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(visualStageCount(metrics, "run") + visualStageCount(metrics, "abandoned")).toBe(1);
    const health = (await (await fetch(`${server.url}/health`)).json()) as { inFlight: number; queued: number };
    expect([health.inFlight, health.queued]).toEqual([0, 0]);
  });
});

describe("bounded queue", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startSlowServer({ MACHINE_LEARNING_MAX_CONCURRENT_REQUESTS: "1", MACHINE_LEARNING_MAX_QUEUED_REQUESTS: "1" }, busy.model);
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
