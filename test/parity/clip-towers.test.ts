/**
 * CLIP towers with the real architectures (seeded random weights, exported as Immich ships its
 * models by scripts/reference/export_clip.py): ViT-B-32, a SigLIP2 model (Gemma tokenizer,
 * canonicalised text, context 64) and an M-CLIP text tower (XLM-R, `input_ids` +
 * `attention_mask`). The service's embeddings over HTTP against onnxruntime on upstream's
 * preprocessing of the same photos and the Rust tokenizer's ids of the same texts. Cosine must
 * be at least 0.99999.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fixturePath } from "../support/fixtures.ts";
import { predict, startTestServer, type TestServer } from "../support/test-server.ts";
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

  test("image and text embeddings of every exported model", async () => {
    const rows = [];
    const tooFar: Array<{ model: string; what: string; cos: number }> = [];
    for (const { model, images, texts } of references()) {
      const cases: Array<{ what: string; cos: number }> = [];
      for (const [name, expected] of Object.entries(images)) {
        const res = await predict(server.url, { clip: { visual: { modelName: model } } }, { image: new Uint8Array(readFileSync(fixturePath("images", name))) });
        cases.push({ what: name, cos: cosine(await embeddingOf(res), expected) });
      }
      for (const [text, expected] of Object.entries(texts)) {
        const res = await predict(server.url, { clip: { textual: { modelName: model } } }, { text });
        const actual = await embeddingOf(res);
        expect(actual.length).toBe(expected.length);
        cases.push({ what: JSON.stringify(text), cos: cosine(actual, expected) });
      }
      const worst = cases.reduce((a, b) => (b.cos < a.cos ? b : a));
      rows.push({
        family: `${model}: ${Object.keys(images).length} photos + ${Object.keys(texts).length} texts`,
        cases: cases.length,
        identical: cases.filter((c) => c.cos > IDENTICAL_COSINE).length,
        withinTolerance: cases.filter((c) => c.cos <= IDENTICAL_COSINE && c.cos >= MIN_COSINE).length,
        different: cases.filter((c) => c.cos < MIN_COSINE).length,
        worst: `min cosine ${worst.cos.toFixed(8)} (${worst.what})`,
      });
      tooFar.push(...cases.filter((c) => c.cos < MIN_COSINE).map((c) => ({ model, ...c })));
    }
    mkdirSync(join(parityCacheDir, "results"), { recursive: true });
    writeFileSync(join(parityCacheDir, "results", "clip.json"), JSON.stringify(rows, null, 1));
    expect(rows.map((r) => r.family.split(":")[0])).toEqual(["ViT-B-32__openai", "ViT-B-16-SigLIP2__webli", "XLM-Roberta-Large-Vit-B-32"]);
    expect(tooFar).toEqual([]);
  }, 300_000);
});
