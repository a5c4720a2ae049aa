/**
 * CLIP with the real ViT-B-32 architecture (seeded random weights, exported as Immich ships its
 * models by scripts/reference/export_clip.py): the service's embeddings over HTTP against
 * onnxruntime on upstream's preprocessing of the same photos and the Rust tokenizer's ids of the
 * same texts. Cosine must be at least 0.99999.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fixturePath } from "../support/fixtures.ts";
import { predict, startTestServer, type TestServer } from "../support/test-server.ts";
import { describeWithLiveReference, parityCacheDir } from "./parity-cache.ts";

const MIN_COSINE = 0.99999;
const cosine = (a: number[], b: number[]) => a.reduce((s, v, i) => s + v * b[i]!, 0) / Math.hypot(...a) / Math.hypot(...b);

describeWithLiveReference("CLIP ViT-B-32 (real architecture) over HTTP against onnxruntime", "clip-export/reference.json", (path) => {
  const exportDir = join(path, "..");
  const reference = () => JSON.parse(readFileSync(path, "utf8")) as { model: string; images: Record<string, number[]>; texts: Record<string, number[]> };
  let server: TestServer;

  beforeAll(async () => {
    const { model } = reference();
    server = await startTestServer({}, (cache) => {
      mkdirSync(join(cache, "clip"), { recursive: true });
      symlinkSync(join(exportDir, "clip", model), join(cache, "clip", model));
    });
  });
  afterAll(() => server?.stop());

  test("image and text embeddings", async () => {
    const { model, images, texts } = reference();
    const cases: Array<{ what: string; cos: number }> = [];
    const embeddingOf = async (res: Response) => {
      const text = await res.text();
      if (res.status !== 200) throw new Error(`${res.status}: ${text}`);
      return JSON.parse((JSON.parse(text) as { clip: string }).clip) as number[];
    };
    for (const [name, expected] of Object.entries(images)) {
      const res = await predict(server.url, { clip: { visual: { modelName: model } } }, { image: new Uint8Array(readFileSync(fixturePath("images", name))) });
      cases.push({ what: name, cos: cosine(await embeddingOf(res), expected) });
    }
    for (const [text, expected] of Object.entries(texts)) {
      const res = await predict(server.url, { clip: { textual: { modelName: model } } }, { text });
      cases.push({ what: JSON.stringify(text), cos: cosine(await embeddingOf(res), expected) });
    }
    const worst = cases.reduce((a, b) => (b.cos < a.cos ? b : a));
    const row = {
      family: `${model} (HF CLIP, seeded), images + texts`,
      cases: cases.length,
      identical: cases.filter((c) => c.cos > 0.9999999).length,
      withinTolerance: cases.filter((c) => c.cos <= 0.9999999 && c.cos >= MIN_COSINE).length,
      different: cases.filter((c) => c.cos < MIN_COSINE).length,
      worst: `min cosine ${worst.cos.toFixed(8)} (${worst.what})`,
    };
    mkdirSync(join(parityCacheDir, "results"), { recursive: true });
    writeFileSync(join(parityCacheDir, "results", "clip.json"), JSON.stringify([row], null, 1));
    expect(cases.filter((c) => c.cos < MIN_COSINE)).toEqual([]);
  }, 300_000);
});
