/**
 * A Hub or mirror that accepts connections but never answers: /predict gets a 503 naming the host
 * and the timeout after the bounded connect timeouts and retries, not after the request timeout.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { statusForError } from "../../src/http/error-status.ts";
import { UpstreamUnavailableError } from "../../src/net/fetch-with-timeouts.ts";
import { startServeProcess } from "../support/server-process.ts";
import { startSilentServer, type SilentServer } from "../support/silent-server.ts";
import { startTestServer, type TestServer } from "../support/test-server.ts";
import { waitUntil } from "../support/wait-until.ts";

let silentHub: SilentServer;
let server: TestServer;

beforeAll(async () => {
  silentHub = startSilentServer();
  server = await startTestServer({
    HF_ENDPOINT: silentHub.url,
    MACHINE_LEARNING_DOWNLOAD_CONNECT_TIMEOUT_S: "0.3",
    MACHINE_LEARNING_DOWNLOAD_RETRIES: "1",
    MACHINE_LEARNING_REQUEST_TIMEOUT_S: "600",
  });
});

afterAll(async () => {
  await server.stop();
  silentHub.stop();
});

test("a silent Hub: 503 within the connect timeouts, naming the host and the timeout; /ping answers meanwhile", async () => {
  const form = new FormData();
  form.set("entries", JSON.stringify({ clip: { textual: { modelName: "ViT-B-32__openai" } } }));
  form.set("text", "a cat");
  const started = performance.now();
  const answer = fetch(`${server.url}/predict`, { method: "POST", body: form });
  const ping = await fetch(`${server.url}/ping`);
  expect(await ping.text()).toBe("pong");
  const response = await answer;
  const seconds = (performance.now() - started) / 1000;
  expect(response.status).toBe(503);
  const { detail } = (await response.json()) as { detail: string };
  expect(detail).toContain(`127.0.0.1:${silentHub.port} did not answer within 0.3 s (MACHINE_LEARNING_DOWNLOAD_CONNECT_TIMEOUT_S)`);
  expect(detail).toContain("ViT-B-32__openai");
  expect(silentHub.connections()).toBe(2);
  // Two attempts of 0.3 s and a 1 s backoff, far from the 600 s request timeout.
  expect(seconds).toBeLessThan(10);
});

test("the typed network error maps to 503 with its message and a Retry-After", () => {
  const error = new UpstreamUnavailableError("mirror.lan:8080", "did not answer within 10 s (MACHINE_LEARNING_DOWNLOAD_CONNECT_TIMEOUT_S)", 10);
  expect(statusForError(error)).toEqual({ status: 503, body: error.message, headers: { "Retry-After": "30" } });
});

test("SIGTERM while a request waits on a silent Hub: the process exits after the shutdown timeout, not the download's", async () => {
  const serving = await startServeProcess({
    HF_ENDPOINT: silentHub.url,
    MACHINE_LEARNING_DOWNLOAD_CONNECT_TIMEOUT_S: "60",
    MACHINE_LEARNING_SHUTDOWN_TIMEOUT_S: "1",
  });
  const form = new FormData();
  form.set("entries", JSON.stringify({ clip: { textual: { modelName: "ViT-B-32__openai" } } }));
  form.set("text", "a cat");
  const pending = fetch(`${serving.url}/predict`, { method: "POST", body: form }).catch(() => undefined);
  const before = silentHub.connections();
  await waitUntil(() => silentHub.connections() !== before, "the download to start (and hang)");
  const started = performance.now();
  await serving.stop();
  const seconds = (performance.now() - started) / 1000;
  await pending;
  expect(seconds).toBeGreaterThanOrEqual(0.9);
  expect(seconds).toBeLessThan(10);
}, 30_000);
