/**
 * CLIP towers with the real architectures (seeded random weights, exported as Immich ships its
 * models by scripts/reference/export_clip.py): ViT-B-32, a SigLIP2 model (Gemma tokenizer,
 * canonicalised text, context 64) and an M-CLIP text tower (XLM-R, `input_ids` +
 * `attention_mask`). The service's embeddings over HTTP against onnxruntime on upstream's
 * preprocessing of the same photos and the Rust tokenizer's ids of the same texts. Cosine must
 * be at least 0.99999. The texts are compared twice: as the towers load (at their full length),
 * and once the causal towers run a query at a shorter sequence length (runtime/sequence-variants.ts).
 */
import { afterAll, beforeAll, expect, spyOn, test } from "bun:test";
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { OnnxSession } from "../../src/runtime/onnx-session.ts";
import { fixturePath } from "../support/fixtures.ts";
import { predict, startTestServer, type TestServer } from "../support/test-server.ts";
import { waitUntil } from "../support/wait-until.ts";
import { describeWithLiveReference, parityCacheDir } from "./parity-cache.ts";

const MIN_COSINE = 0.99999;
const IDENTICAL_COSINE = 0.9999999;
const cosine = (a: number[], b: number[]) => a.reduce((s, v, i) => s + v * b[i]!, 0) / Math.hypot(...a) / Math.hypot(...b);

interface ModelReference {
  model: string;
  images: Record<string, number[]>;
  texts: Record<string, number[]>;
}

describeWithLiveReference("CLIP towers (real architectures) over HTTP against onnxruntime", "clip-export/reference.json", (path) => {
  const exportDir = join(path, "..");
  const references = () => (JSON.parse(readFileSync(path, "utf8")) as { models: ModelReference[] }).models;
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer({}, (cache) => {
      mkdirSync(join(cache, "clip"), { recursive: true });
      for (const { model } of references()) symlinkSync(join(exportDir, "clip", model), join(cache, "clip", model));
    });
  });
  afterAll(() => server?.stop());

  const embeddingOf = async (res: Response) => {
    const text = await res.text();
    if (res.status !== 200) throw new Error(`${res.status}: ${text}`);
    return JSON.parse((JSON.parse(text) as { clip: string }).clip) as number[];
  };

  /** The service's embedding of `text` by `model`, and the sequence length its run was fed (the server runs in this process). */
  const textEmbedding = async (model: string, text: string) => {
    const run = spyOn(OnnxSession.prototype, "run");
    try {
      const actual = await embeddingOf(await predict(server.url, { clip: { textual: { modelName: model } } }, { text }));
      return { actual, length: Object.values(run.mock.calls[0]![0])[0]!.dims.at(-1)! };
    } finally {
      run.mockRestore();
    }
  };

  test("image and text embeddings of every exported model, the texts also once the towers run shorter sequences", async () => {
    const rows = [];
    const tooFar: Array<{ model: string; what: string; cos: number }> = [];
    const cases = new Map<string, Array<{ what: string; cos: number }>>();
    const compareTexts = async (model: string, texts: Record<string, number[]>, pass: string) => {
      const lengths: number[] = [];
      for (const [text, expected] of Object.entries(texts)) {
        const { actual, length } = await textEmbedding(model, text);
        expect(actual.length).toBe(expected.length);
        cases.get(model)!.push({ what: `${JSON.stringify(text)} (${pass})`, cos: cosine(actual, expected) });
        lengths.push(length);
      }
      return lengths;
    };
    for (const { model, images, texts } of references()) {
      cases.set(model, []);
      for (const [name, expected] of Object.entries(images)) {
        const res = await predict(server.url, { clip: { visual: { modelName: model } } }, { image: new Uint8Array(readFileSync(fixturePath("images", name))) });
        cases.get(model)!.push({ what: name, cos: cosine(await embeddingOf(res), expected) });
      }
      await compareTexts(model, texts, "as loaded");
    }
    // The text towers' shorter sessions are made one after the other in the background, in load
    // order, on the search thread: once the last causal tower (M-CLIP) has them, all are settled.
    // SigLIP2 pools its last position after attending to the padding: it keeps its 64 tokens.
    const shortened = { "ViT-B-32__openai": true, "ViT-B-16-SigLIP2__webli": false, "XLM-Roberta-Large-Vit-B-32": true } as Record<string, boolean>;
    await waitUntil(async () => (await textEmbedding("XLM-Roberta-Large-Vit-B-32", "a photo of a cat")).length < 77, "M-CLIP's shorter sessions", 120_000);
    for (const { model, texts } of references()) {
      const lengths = await compareTexts(model, texts, "shorter sessions ready");
      // A text longer than 32 tokens still runs at 77 (the seeded M-CLIP tokenizer's small
      // vocabulary splits words into many pieces: its texts take 8 to 77 positions).
      if (shortened[model]) {
        expect(lengths.every((length) => [8, 16, 32, 77].includes(length))).toBe(true);
        expect(lengths.filter((length) => length < 77).length).toBeGreaterThan(lengths.length / 2);
      } else expect(lengths.every((length) => length === 64)).toBe(true);
    }
    for (const { model, images, texts } of references()) {
      const modelCases = cases.get(model)!;
      const worst = modelCases.reduce((a, b) => (b.cos < a.cos ? b : a));
      rows.push({
        family: `${model}: ${Object.keys(images).length} photos + ${Object.keys(texts).length} texts, each text twice`,
        cases: modelCases.length,
        identical: modelCases.filter((c) => c.cos > IDENTICAL_COSINE).length,
        withinTolerance: modelCases.filter((c) => c.cos <= IDENTICAL_COSINE && c.cos >= MIN_COSINE).length,
        different: modelCases.filter((c) => c.cos < MIN_COSINE).length,
        worst: `min cosine ${worst.cos.toFixed(8)} (${worst.what})`,
      });
      tooFar.push(...modelCases.filter((c) => c.cos < MIN_COSINE).map((c) => ({ model, ...c })));
    }
    mkdirSync(join(parityCacheDir, "results"), { recursive: true });
    writeFileSync(join(parityCacheDir, "results", "clip.json"), JSON.stringify(rows, null, 1));
    expect(rows.map((r) => r.family.split(":")[0])).toEqual(["ViT-B-32__openai", "ViT-B-16-SigLIP2__webli", "XLM-Roberta-Large-Vit-B-32"]);
    expect(tooFar).toEqual([]);
  }, 300_000);
});
