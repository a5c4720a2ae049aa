/**
 * The CLIP text model as the service loads it runs a query at the shortest sequence length that
 * holds its tokens once those sessions are ready (runtime/sequence-variants.ts), and answers with
 * the embedding the tower gives at its full 77 tokens, as upstream runs it.
 */
import { afterAll, expect, setDefaultTimeout, spyOn, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { log, setLogLevel, setLogSink } from "../../../src/log.ts";
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

test("a tower whose probes cannot be made loads all the same, and runs at its full length", async () => {
  const path = join(tempDir(), "model.onnx");
  writeFileSync(path, tower);
  const context = offlineModelContext(tempDir());
  // As captureLog (test/support/log-capture.ts) does, around an asynchronous body.
  const warnings: string[] = [];
  const restoreLevel = log.isEnabled("debug") ? "debug" : "critical";
  setLogLevel("warn");
  const previous = setLogSink((line) => warnings.push(line));
  let session: OnnxSession | undefined;
  try {
    session = await OnnxSession.create(context.inference, path, context.session, {
      interactive: true,
      shorterSequences: {
        lengths: [8],
        probes: () => {
          throw new Error("no tokenizer");
        },
      },
    });
  } finally {
    setLogSink(previous);
    setLogLevel(restoreLevel);
  }
  try {
    expect(warnings.some((line) => line.includes("its probes could not be made: Error: no tokenizer"))).toBe(true);
    expect(session.sequenceLength(5)).toBeUndefined();
    const ids = new Int32Array(77).fill(49_407);
    ids.set([49_406, 320, 49_407]);
    const [output] = await session.run({ text: { type: "int32", data: ids, dims: [1, 77] } });
    expect(output!.dims).toEqual([1, 96]);
  } finally {
    await session.release();
  }
});
