/**
 * Made-up model names cannot grow /metrics or the answers: labels come from the registry (anything
 * else is `unknown`) and echoed names are cut to a bounded excerpt.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { predict, startTestServer, type TestServer } from "../support/test-server.ts";
import { MAX_ECHOED_CHARS } from "../../src/client-text.ts";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ HF_HUB_OFFLINE: "1" });
});
afterAll(() => server.stop());

const metricsText = async () => (await fetch(`${server.url}/metrics`)).text();
const textual = (modelName: string) => ({ clip: { textual: { modelName } } });

test("200 made-up names add one `unknown` series, not 200", async () => {
  const before = await metricsText();
  for (let i = 0; i < 200; i++) {
    const res = await predict(server.url, textual(`made-up-${i}`), { text: "a" });
    expect(res.status).toBe(400);
  }
  const after = await metricsText();
  expect(after).not.toContain("made-up-");
  expect(after).toContain('immich_ml_requests_total{task="clip",type="textual",model="unknown",status="400"} 200');
  // One new counter line and one histogram (buckets, sum, count) for the one new label set.
  expect(after.length - before.length).toBeLessThan(5_000);
});

test("a registered name keeps its own label; a legacy spelling counts under its cleaned name", async () => {
  // Not cached and offline: 503, but the label is the model's.
  const res = await predict(server.url, textual("immich-app/ViT-B-32::openai"), { text: "a" });
  expect(res.status).toBe(503);
  expect(await metricsText()).toContain('model="ViT-B-32__openai",status="503"');
});

test("a 100 kB model name is echoed as a bounded excerpt", async () => {
  const name = "n".repeat(100_000);
  const res = await predict(server.url, textual(name), { text: "a" });
  expect(res.status).toBe(400);
  const { detail } = (await res.json()) as { detail: string };
  expect(detail).toStartWith(`Unknown model name '${"n".repeat(MAX_ECHOED_CHARS)}…(${100_000 - MAX_ECHOED_CHARS} more characters)'`);
  expect(detail.length).toBeLessThan(MAX_ECHOED_CHARS + 100);
});

test("a long unknown task name is echoed as a bounded excerpt", async () => {
  const res = await predict(server.url, { ["t".repeat(10_000)]: { visual: { modelName: "x" } } }, { text: "a" });
  expect(res.status).toBe(400);
  const { detail } = (await res.json()) as { detail: string };
  expect(detail.length).toBeLessThan(MAX_ECHOED_CHARS + 100);
});
