/**
 * The CLIP text model as the service loads it runs a query at the shortest sequence length that
 * holds its tokens once those sessions are ready (runtime/sequence-variants.ts), and answers with
 * the embedding the tower gives at its full 77 tokens, as upstream runs it.
 */
import { afterAll, expect, setDefaultTimeout, spyOn, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { OnnxSession } from "../../../src/runtime/onnx-session.ts";
import { createNativeSession, releaseNativeSession, runNativeSession } from "../../../src/runtime/ort-capi.ts";
import { ClipTextualModel } from "../../../src/tasks/clip/textual.ts";
import { ClipTokenizer } from "../../../src/tasks/clip/tokenizer.ts";
import { writeClipModel } from "../../support/clip-cache.ts";
import { offlineModelContext } from "../../support/model-context.ts";
import { sequenceTextTower } from "../../support/onnx-builder.ts";
import { tempDir } from "../../support/temp.ts";
import { waitUntil } from "../../support/wait-until.ts";

// Shorter sessions are made in the background: a few hundred milliseconds here.
setDefaultTimeout(30_000);

// A causal tower over CLIP's 49,408 ids with a 19 MB token table: large enough that the service
// moves its weights out of the graph and maps them (the condition for sharing them).
const tower = sequenceTextTower({ context: 77, vocab: 49_408, width: 96 });
const cacheFolder = tempDir();
const modelDir = writeClipModel(cacheFolder, "ViT-B-32__openai", { textual: tower });
const referencePath = join(tempDir(), "model.onnx");
writeFileSync(referencePath, tower);

const model = new ClipTextualModel("ViT-B-32__openai", offlineModelContext(cacheFolder));
afterAll(() => model.unload());

async function embed(text: string): Promise<{ embedding: Float32Array; length: number }> {
  const spy = spyOn(OnnxSession.prototype, "run");
  try {
    const embedding = ((await model.predict({ kind: "text", text }, {})) as { values: Float32Array }).values;
    const feeds = spy.mock.calls[0]![0];
    return { embedding, length: Object.values(feeds)[0]!.dims.at(-1)! };
  } finally {
    spy.mockRestore();
  }
}

/** The tower at its full length, as upstream runs it, on the tokenizer's padded ids. */
async function upstreamEmbedding(text: string): Promise<Float32Array> {
  const tokenizer = await ClipTokenizer.load(
    { tokenizerJson: join(modelDir, "textual", "tokenizer.json"), tokenizerConfigJson: join(modelDir, "textual", "tokenizer_config.json") },
    "ViT-B-32__openai",
  );
  const session = createNativeSession(referencePath, { intraOpThreads: 1, interOpThreads: 1, arena: false });
  try {
    const { inputIds } = tokenizer.encode(text);
    return runNativeSession(session.handle, session.outputNames, { text: { type: "int32", data: inputIds, dims: [1, 77] } })[0]!.data;
  } finally {
    releaseNativeSession(session.handle);
  }
}

test("runs a query at the shortest ready length that holds it, with the full-length embedding", async () => {
  await model.load();
  // Until the shorter sessions are ready, queries run at 77 tokens; then at 8 for this one.
  await waitUntil(async () => (await embed("a photo of a cat")).length < 77, "the shorter sessions", 20_000);
  const long = Array(40).fill("photo").join(" ");
  const medium = Array(20).fill("cat").join(" ");
  const cases = [
    { text: "a photo of a cat", length: 8 },
    { text: medium, length: 32 },
    { text: long, length: 77 },
  ];
  for (const { text, length } of cases) {
    const answer = await embed(text);
    expect(answer.length).toBe(length);
    expect(Array.from(answer.embedding)).toEqual(Array.from(await upstreamEmbedding(text)));
  }
});
