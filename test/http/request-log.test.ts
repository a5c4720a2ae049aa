/** At debug level every answered request leaves one key=value line; at info level none. */
import { afterAll, afterEach, beforeAll, expect, test } from "bun:test";
import { predict, startTestServer, type TestServer } from "../support/test-server.ts";
import { writeClipModel } from "../support/clip-cache.ts";
import { setLogLevel, setLogSink } from "../../src/log.ts";
import { waitUntil } from "../support/wait-until.ts";

const MODEL = "ViT-B-32__openai";
let server: TestServer;
let lines: string[] = [];
let previousSink: (line: string) => void;

beforeAll(async () => {
  server = await startTestServer({}, (cache) => writeClipModel(cache, MODEL));
  previousSink = setLogSink((line) => lines.push(line));
});
afterAll(async () => {
  setLogSink(previousSink);
  await server.stop();
});
afterEach(() => {
  setLogLevel("critical"); // test/setup.ts's level
  lines = [];
});

const requestLines = () => lines.filter((line) => line.includes("request method="));

/** The line is written after the response is sent: wait for it. */
async function loggedRequests(): Promise<string[]> {
  await waitUntil(() => requestLines().length > 0, "a request's log line");
  return requestLines();
}

test("debug: method, path, status, ms and tasks, one line per request", async () => {
  setLogLevel("debug");
  await predict(server.url, { clip: { textual: { modelName: MODEL } } }, { text: "a photo of a cat" });
  const [line, ...rest] = await loggedRequests();
  expect(rest).toEqual([]);
  expect(line).toContain("DEBUG");
  expect(line).toMatch(/request method=POST path=\/predict status=200 ms=\d+\.\d tasks="clip\/textual\/ViT-B-32__openai"$/);
});

test("debug: refusals are logged with the status that was sent", async () => {
  setLogLevel("debug");
  const cases: Array<[() => Promise<Response>, string]> = [
    [() => predict(server.url, "[1]", { text: "x" }), "method=POST path=/predict status=422"],
    [() => predict(server.url, { clip: { textual: { modelName: "nope\nINFO forged" } } }, { text: "x" }), "status=400 ms="],
    [
      () => fetch(`${server.url}/predict`, { method: "POST", body: "{}", headers: { "content-type": "application/json" } }),
      "method=POST path=/predict status=415",
    ],
    [() => fetch(`${server.url}/nowhere`), "method=GET path=/nowhere status=404"],
    [() => fetch(`${server.url}/ping`), "method=GET path=/ping status=200"],
  ];
  for (const [send, expected] of cases) {
    lines = [];
    const res = await send();
    await res.arrayBuffer();
    const logged = await loggedRequests();
    expect(logged).toHaveLength(1);
    expect(logged[0]).toContain(expected);
    expect(logged[0]).toContain(`status=${res.status}`);
  }
  // A client-chosen model name cannot start a forged log line.
  expect(
    lines
      .join("\n")
      .split("\n")
      .filter((l) => l.startsWith("INFO")),
  ).toEqual([]);
});

test("info (the default): no per-request lines", async () => {
  setLogLevel("info");
  await predict(server.url, { clip: { textual: { modelName: MODEL } } }, { text: "a photo of a cat" });
  await (await fetch(`${server.url}/ping`)).text();
  // A request begun at debug level logs after those before it: once its line is written, any line
  // of the requests above would have been too.
  setLogLevel("debug");
  await (await fetch(`${server.url}/ready`)).text();
  expect((await loggedRequests()).map((line) => line.replace(/.*request /, ""))).toEqual([expect.stringMatching(/^method=GET path=\/ready status=200 /)]);
});
