/**
 * A fixed, seeded slice of `npm run fuzz` (scripts/fuzz.ts): the same generated hostile requests,
 * 120 of them, each answered with a status its case allows (never a 5xx) and a FastAPI-style body,
 * and the server still serving afterwards.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { startTestServer, type TestServer } from "../support/test-server.ts";
import { writeClipModel } from "../support/clip-cache.ts";
import { buildImageCorpus } from "../support/fuzz/image-corpus.ts";
import { FuzzCases } from "../support/fuzz/cases.ts";
import { sendCase } from "../support/fuzz/send.ts";

const MODEL = "ViT-B-32__openai";
const MAX_BODY_BYTES = 2 * 1024 * 1024;
const SEED = 20_261_121;
const COUNT = 120;
let server: TestServer;
let cases: FuzzCases;

beforeAll(async () => {
  server = await startTestServer(
    { MACHINE_LEARNING_MAX_BODY_BYTES: String(MAX_BODY_BYTES), MACHINE_LEARNING_MAX_IMAGE_PIXELS: "50000000", HF_HUB_OFFLINE: "1" },
    (cache) => writeClipModel(cache, MODEL),
  );
  cases = FuzzCases.create(SEED, { modelName: MODEL, maxBodyBytes: MAX_BODY_BYTES }, await buildImageCorpus());
});
afterAll(() => server.stop());

test(`${COUNT} seeded hostile requests each get a correct 2xx/4xx answer`, async () => {
  const problems: string[] = [];
  const families = new Set<string>();
  const statuses = new Set<number | string>();
  // Four at a time, as the long run does, so requests also overlap inside the service.
  let next = 0;
  const worker = async () => {
    while (next < COUNT) {
      const fuzzCase = cases.at(next++);
      const outcome = await sendCase(server.url, fuzzCase, 20_000);
      families.add(fuzzCase.family);
      statuses.add(outcome.status);
      if (outcome.problem) problems.push(`case ${fuzzCase.index} [${fuzzCase.family}: ${fuzzCase.label.slice(0, 80)}] ${outcome.problem}`);
    }
  };
  await Promise.all(Array.from({ length: 4 }, worker));
  expect(problems).toEqual([]);
  // The slice must really be a mix: successes, every kind of refusal, most families.
  expect([...statuses]).toEqual(expect.arrayContaining([200, 400, 415, 422]));
  expect(families.size).toBeGreaterThanOrEqual(12);
  const ping = await fetch(`${server.url}/ping`);
  expect(await ping.text()).toBe("pong");
});
