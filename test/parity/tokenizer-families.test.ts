/**
 * Token ids and attention masks of `ClipTokenizer` (the JS tokenizers library plus our
 * corrections) against the Rust `tokenizers` library upstream runs, for every tokenizer family
 * upstream serves. References from scripts/reference/tokenizer_families.py: the committed goldens
 * always run; the 10,000-string-per-family comparison runs when `npm run parity` has left its
 * output in the parity cache. Differences must be exactly the documented ones
 * (known-tokenizer-differences.json, also listed in docs/PARITY.md).
 */
import { describe, expect, test } from "bun:test";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { join } from "node:path";
import { ClipTokenizer } from "../../src/tasks/clip/tokenizer.ts";
import { describeWithFixtures, fixturePath, repoRoot } from "../support/fixtures.ts";
import { describeWithLiveReference, parityCacheDir } from "./parity-cache.ts";

interface Case {
  text: string;
  ids: number[];
  mask: number[];
}
interface TokenizerFiles {
  "tokenizer.json": unknown;
  "tokenizer_config.json": unknown;
  "config.json": unknown;
}

const FAMILIES = ["clip", "xlm-roberta", "labse", "nllb", "siglip", "gemma"] as const;
const known = JSON.parse(readFileSync(join(import.meta.dir, "known-tokenizer-differences.json"), "utf8")) as Record<
  string,
  { reason: string; texts: string[] }
>;

/** NLLB towers are recognised by name; the cases carry their FLORES prefix in the text. */
const modelNameOf = (family: string) => (family === "nllb" ? "nllb-clip-base-siglip__v1" : family);

function tokenizerFrom(family: string, files: TokenizerFiles): ClipTokenizer {
  return ClipTokenizer.fromJson(files["tokenizer.json"], files["tokenizer_config.json"], files["config.json"], modelNameOf(family));
}

export interface FamilyResult {
  family: string;
  cases: number;
  identical: number;
  different: number;
  documented: number;
  worst?: string;
}

/** Compares every case; returns the counts and the texts that differ. */
function compare(family: string, tokenizer: ClipTokenizer, cases: Case[]): { result: FamilyResult; differing: string[] } {
  const differing: string[] = [];
  let worst: string | undefined;
  for (const c of cases) {
    const { inputIds, attentionMask } = tokenizer.encode(c.text);
    const same = inputIds.length === c.ids.length && inputIds.every((v, i) => v === c.ids[i]) && attentionMask.every((v, i) => v === c.mask[i]);
    if (same) continue;
    differing.push(c.text);
    const at = Math.max(
      0,
      c.ids.findIndex((id, i) => id !== inputIds[i]),
    );
    worst ??= `${JSON.stringify(c.text).slice(0, 60)}: from id ${at}, Rust [${c.ids.slice(at, at + 4)}] JS [${Array.from(inputIds.slice(at, at + 4))}]`;
  }
  const documented = differing.filter((t) => known[family]?.texts.includes(t)).length;
  return { result: { family, cases: cases.length, identical: cases.length - differing.length, different: differing.length, documented, worst }, differing };
}

function expectOnlyDocumented(family: string, differing: string[]): void {
  const undocumented = differing.filter((t) => !known[family]?.texts.includes(t));
  expect(undocumented).toEqual([]);
}

const goldenDir = join(repoRoot, "test/golden/tokenizers");
const readGzipJson = (path: string) => JSON.parse(gunzipSync(readFileSync(path)).toString("utf8"));

function readGoldenCases(family: string): Case[] {
  return (readGzipJson(join(goldenDir, `${family}.json.gz`)) as { cases: Case[] }).cases;
}

/** A trained family's files from the committed bundle (its SentencePiece table stored once). */
function trainedFiles(family: string): TokenizerFiles {
  const bundle = readGzipJson(join(goldenDir, "trained-tokenizers.json.gz")) as {
    charsmap: string;
    families: Record<string, TokenizerFiles>;
  };
  const files = bundle.families[family]!;
  const spec = JSON.stringify(files["tokenizer.json"]).replaceAll('"@precompiled_charsmap"', JSON.stringify(bundle.charsmap));
  return { ...files, "tokenizer.json": JSON.parse(spec) };
}

describe("committed goldens from the Rust tokenizers library", () => {
  for (const family of ["xlm-roberta", "labse", "gemma"]) {
    test(`${family}: ids and masks equal Rust's except the documented cases`, () => {
      const cases = readGoldenCases(family);
      const { result, differing } = compare(family, tokenizerFrom(family, trainedFiles(family)), cases);
      expect(result.cases).toBeGreaterThan(250);
      expectOnlyDocumented(family, differing);
      // A documented difference that disappeared is news too: the list must be kept true.
      const listed = cases.filter((c) => known[family]?.texts.includes(c.text)).map((c) => c.text);
      expect(differing.sort()).toEqual(listed.sort());
    });
  }
});

describeWithFixtures("committed golden: the real CLIP tokenizer.json", () => {
  test("clip: ids and masks equal Rust's", () => {
    const files = {
      "tokenizer.json": JSON.parse(readFileSync(fixturePath("clip-tokenizer/tokenizer.json"), "utf8")),
      "tokenizer_config.json": JSON.parse(readFileSync(fixturePath("clip-tokenizer/tokenizer_config.json"), "utf8")),
      "config.json": { text_cfg: { context_length: 77 } },
    };
    const { differing } = compare("clip", tokenizerFrom("clip", files), readGoldenCases("clip"));
    expect(differing).toEqual([]);
  });
});

describeWithLiveReference("every tokenizer family, 10,000 strings each, live from the Rust library", "tokenizers", (dir) => {
  const results: FamilyResult[] = [];
  for (const family of FAMILIES) {
    test(`${family}`, () => {
      const read = (name: string) => JSON.parse(readFileSync(join(dir, family, name), "utf8"));
      const files = { "tokenizer.json": read("tokenizer.json"), "tokenizer_config.json": read("tokenizer_config.json"), "config.json": read("config.json") };
      const cases = readFileSync(join(dir, family, "cases.jsonl"), "utf8")
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line) as Case);
      const { result, differing } = compare(family, tokenizerFrom(family, files), cases);
      results.push(result);
      mkdirSync(join(parityCacheDir, "results"), { recursive: true });
      writeFileSync(join(parityCacheDir, "results", "tokenizers.json"), JSON.stringify(results, null, 1));
      expect(result.cases).toBeGreaterThanOrEqual(10_000);
      expectOnlyDocumented(family, differing);
    }, 300_000);
  }
});
