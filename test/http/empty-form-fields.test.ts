/**
 * An empty text value of a form field counts as not sent, as FastAPI reads Form/File fields
 * upstream: Swagger UI's "Try it out" sends `image=` when no file is chosen.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { writeClipModel } from "../support/clip-cache.ts";
import { startTestServer, type TestServer } from "../support/test-server.ts";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({}, (cache) => void writeClipModel(cache, "ViT-B-32__openai"));
});
afterAll(() => server.stop());

async function post(fields: Record<string, string>): Promise<{ status: number; body: { detail?: unknown; clip?: string } }> {
  const form = new FormData();
  for (const [name, value] of Object.entries(fields)) form.set(name, value);
  const response = await fetch(`${server.url}/predict`, { method: "POST", body: form });
  return { status: response.status, body: (await response.json()) as { detail?: unknown; clip?: string } };
}

const TEXTUAL = '{"clip":{"textual":{"modelName":"ViT-B-32__openai"}}}';

test("an empty image field is no image: the text is used", async () => {
  const answer = await post({ entries: TEXTUAL, image: "", text: "a cat" });
  expect(answer.status).toBe(200);
  expect(answer.body.clip).toStartWith("[");
});

test("an empty entries field is a missing field (422), an empty text with no image is neither (400)", async () => {
  const noEntries = await post({ entries: "", text: "a cat" });
  expect(noEntries.status).toBe(422);
  expect(noEntries.body.detail).toEqual([{ type: "missing", loc: ["body", "entries"], msg: "Field required", input: null }]);
  expect(await post({ entries: TEXTUAL, text: "" })).toEqual({ status: 400, body: { detail: "Either image or text must be provided" } });
});
