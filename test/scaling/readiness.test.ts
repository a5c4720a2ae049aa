/** `/ready` (readiness) against `/ping` (liveness): loading, ready, draining from SIGTERM. */
import { afterAll, describe, expect, test } from "bun:test";
import { loadSettings } from "../../src/config/settings.ts";
import { createService, preloadModels } from "../../src/service.ts";
import { createApp } from "../../src/http/app.ts";
import { writeClipModel } from "../support/clip-cache.ts";
import { startServeProcess } from "../support/server-process.ts";
import { tempDir } from "../support/temp.ts";
import { waitUntil } from "../support/wait-until.ts";

const CLIP = "ViT-B-32__openai";

describe("readiness in the app", () => {
  const cacheFolder = tempDir();
  writeClipModel(cacheFolder, CLIP);
  const service = createService(
    loadSettings({ MACHINE_LEARNING_CACHE_FOLDER: cacheFolder, MACHINE_LEARNING_PRELOAD__CLIP__TEXTUAL: CLIP, MACHINE_LEARNING_REQUEST_THREADS: "1" }),
  );
  const app = createApp(service).listen({ hostname: "127.0.0.1", port: 0 });
  const url = `http://127.0.0.1:${app.server!.port}`;
  afterAll(async () => {
    await app.stop(true);
    await service.close();
  });

  test("503 while preloading, 200 once preloaded, 503 draining; /ping stays 200 and /health says why", async () => {
    const loading = await fetch(`${url}/ready`);
    expect(loading.status).toBe(503);
    expect(await loading.json()).toEqual({ ready: false, state: "loading", reason: "loading preloaded models" });
    expect((await fetch(`${url}/ping`)).status).toBe(200);

    await preloadModels(service);
    const ready = await fetch(`${url}/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ ready: true, state: "ready", reason: "serving" });
    expect(service.cache.loaded().map((model) => model.type)).toEqual(["textual"]);

    service.readiness.drain();
    const draining = await fetch(`${url}/ready`);
    expect(draining.status).toBe(503);
    expect(((await draining.json()) as { state: string }).state).toBe("draining");
    expect((await fetch(`${url}/ping`)).status).toBe(200);
    const health = (await (await fetch(`${url}/health`)).json()) as { readiness: unknown };
    expect(health.readiness).toEqual({ ready: false, state: "draining", reason: "shutting down: finishing in-flight requests" });
  });

  test("a draining process does not turn ready again when a late preload finishes", () => {
    service.readiness.markReady();
    expect(service.readiness.state).toBe("draining");
  });
});

describe("readiness of the process", () => {
  test("SIGTERM turns /ready to 503 for MACHINE_LEARNING_DRAIN_DELAY_S while requests are still answered, then the process exits", async () => {
    const server = await startServeProcess({ MACHINE_LEARNING_DRAIN_DELAY_S: "1.5" });
    try {
      expect((await fetch(`${server.url}/ready`)).status).toBe(200);
      const signalled = performance.now();
      process.kill(server.pid, "SIGTERM");
      await waitUntil(async () => (await fetch(`${server.url}/ready`)).status === 503, "/ready to say 503", 1_000);
      // Still listening: the answers above came from the draining process.
      expect((await fetch(`${server.url}/ping`)).status).toBe(200);
      await waitUntil(
        () =>
          fetch(`${server.url}/ping`).then(
            () => false,
            () => true,
          ),
        "the listener to close after the drain delay",
        6_000,
      );
      expect(performance.now() - signalled).toBeGreaterThanOrEqual(1400);
    } finally {
      await server.stop();
    }
  });
});

describe("scaling settings", () => {
  test("routes per task, fallback, timeouts and drain delay are read and checked", () => {
    const settings = loadSettings({
      MACHINE_LEARNING_ROUTE__CLIP: "http://gpu:3003/, http://gpu2:3003",
      MACHINE_LEARNING_ROUTE__FACIAL_RECOGNITION: "http://faces:3003",
      MACHINE_LEARNING_ROUTE_FALLBACK: "None",
      MACHINE_LEARNING_PEER_TIMEOUT_S: "5",
      MACHINE_LEARNING_DRAIN_DELAY_S: "3",
    }).scaling;
    expect(settings.routes).toEqual({ clip: ["http://gpu:3003", "http://gpu2:3003"], "facial-recognition": ["http://faces:3003"] });
    expect(settings.routeFallback).toBe("none");
    expect(settings.peerTimeoutS).toBe(5);
    expect(settings.drainDelayS).toBe(3);
    expect(loadSettings({}).scaling).toEqual({
      drainDelayS: 0,
      routes: {},
      routeFallback: "local",
      peerTimeoutS: 60,
      peerPingTimeoutS: 2,
      peerPingIntervalS: 10,
    });
    expect(() => loadSettings({ MACHINE_LEARNING_ROUTE__OCR: "gpu:3003" })).toThrow("MACHINE_LEARNING_ROUTE__OCR");
    expect(() => loadSettings({ MACHINE_LEARNING_ROUTE_FALLBACK: "peer" })).toThrow("local or none");
    expect(() => loadSettings({ MACHINE_LEARNING_PEER_PING_TIMEOUT_S: "0" })).toThrow(
      'Invalid value for MACHINE_LEARNING_PEER_PING_TIMEOUT_S: "0" (expected a number of seconds > 0)',
    );
    expect(() => loadSettings({ MACHINE_LEARNING_DRAIN_DELAY_S: "-1" })).toThrow(
      'Invalid value for MACHINE_LEARNING_DRAIN_DELAY_S: "-1" (expected a number of seconds >= 0)',
    );
  });
});
