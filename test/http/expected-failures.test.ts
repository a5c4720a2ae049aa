/**
 * Expected failures (an unreachable hub, a model that cannot load) cost one attempt and one log
 * line per cool-down, answer without the cache's absolute path, and show in /health.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { predict, startTestServer } from "../support/test-server.ts";
import { clipRepoFiles } from "../support/clip-cache.ts";
import { startFakeHub, type FakeHub } from "../support/fake-hub.ts";
import { setLogLevel, setLogSink } from "../../src/log.ts";

let hub: FakeHub;
beforeAll(() => {
  hub = startFakeHub({ "immich-app/RN50__openai": { ...clipRepoFiles(), "textual/model.onnx": "not a model" } });
});
afterAll(() => hub.stop());

async function withLogLines<T>(run: () => Promise<T>): Promise<string[]> {
  const lines: string[] = [];
  const previous = setLogSink((line) => lines.push(line));
  setLogLevel("info");
  try {
    await run();
  } finally {
    setLogLevel("critical");
    setLogSink(previous);
  }
  return lines;
}

test("an unreachable hub: 503s with a remedy and Retry-After, no cache path, one WARN line and no ERROR", async () => {
  const server = await startTestServer(); // HF_ENDPOINT points where nothing listens
  try {
    const answers: Array<{ status: number; retryAfter: string | null; detail: string }> = [];
    const lines = await withLogLines(async () => {
      for (let i = 0; i < 4; i++) {
        const res = await predict(server.url, { clip: { textual: { modelName: "ViT-B-32__openai" } } }, { text: "a" });
        answers.push({ status: res.status, retryAfter: res.headers.get("retry-after"), detail: ((await res.json()) as { detail: string }).detail });
      }
    });
    for (const answer of answers) {
      expect(answer.status).toBe(503);
      expect(Number(answer.retryAfter)).toBeGreaterThan(0);
      expect(Number(answer.retryAfter)).toBeLessThanOrEqual(60);
      expect(answer.detail).toContain("or run 'immich-ml download ViT-B-32__openai' on a connected machine");
      expect(answer.detail).not.toContain(server.cacheFolder);
    }
    expect(lines.filter((line) => line.includes("WARN"))).toHaveLength(1);
    expect(lines.filter((line) => line.includes("ERROR"))).toEqual([]);
  } finally {
    await server.stop();
  }
});

test("a model that cannot load is not loaded again on every request, and /health says so", async () => {
  const server = await startTestServer({ HF_ENDPOINT: hub.url });
  try {
    const ask = () => predict(server.url, { clip: { textual: { modelName: "RN50__openai" } } }, { text: "a" });
    const first = await ask();
    expect(first.status).toBe(500);
    const fetched = hub.hits.get("resolve:immich-app/RN50__openai/textual/model.onnx");
    const lines = await withLogLines(async () => {
      for (let i = 0; i < 3; i++) expect((await ask()).status).toBe(500);
    });
    // Answered from memory: no download, no load, nothing logged again.
    expect(hub.hits.get("resolve:immich-app/RN50__openai/textual/model.onnx")).toBe(fetched);
    expect(lines.filter((line) => line.includes("ERROR") || line.includes("WARN"))).toEqual([]);
    const health = (await (await fetch(`${server.url}/health`)).json()) as { failedModels: Array<{ key: string; error: string; retryInSeconds: number }> };
    expect(health.failedModels).toHaveLength(1);
    expect(health.failedModels[0]!.key).toContain("RN50__openai");
    expect(health.failedModels[0]!.error).toStartWith("Failed to load model 'RN50__openai'");
    expect(health.failedModels[0]!.error).not.toContain(server.cacheFolder);
  } finally {
    await server.stop();
  }
});
