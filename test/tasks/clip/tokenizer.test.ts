/**
 * CLIP text tokenisation. Expected ids come from scripts/reference/clip_tokenize.py, an
 * independent re-derivation of the Rust `tokenizers` pipeline over OpenAI's BPE merge list.
 */
import { beforeEach, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { FLORES_TABLE_SIZE, floresCode } from "../../../src/tasks/clip/flores.ts";
import { ClipTokenizer, prepareClipText } from "../../../src/tasks/clip/tokenizer.ts";
import { describeWithFixtures, fixturePath, repoRoot } from "../../support/fixtures.ts";
import { captureLog } from "../../support/log-capture.ts";

const EOT = 49407;
const golden = JSON.parse(readFileSync(join(repoRoot, "test/golden/clip/tokens.json"), "utf8")) as {
  name: string;
  text: string;
  ids: number[];
}[];

const fixtureFiles = () => ({
  tokenizerJson: fixturePath("clip-tokenizer/tokenizer.json"),
  tokenizerConfigJson: fixturePath("clip-tokenizer/tokenizer_config.json"),
  modelConfigJson: fixturePath("clip-config/config.json"),
});

const tokenizerJson = () => JSON.parse(readFileSync(fixturePath("clip-tokenizer/tokenizer.json"), "utf8"));
const tokenizerConfig = () => JSON.parse(readFileSync(fixturePath("clip-tokenizer/tokenizer_config.json"), "utf8"));

describeWithFixtures("ClipTokenizer with the real CLIP ViT-B/32 tokenizer", () => {
  let tokenizer: ClipTokenizer;
  beforeEach(async () => {
    tokenizer ??= await ClipTokenizer.load(fixtureFiles(), "ViT-B-32__openai");
  });

  test('"a photo of a cat" gives the known ids, padded with <|endoftext|> to 77', () => {
    const { inputIds, attentionMask } = tokenizer.encode("a photo of a cat");
    expect(tokenizer.contextLength).toBe(77);
    expect(inputIds).toBeInstanceOf(Int32Array);
    expect(Array.from(inputIds)).toEqual([49406, 320, 1125, 539, 320, 2368, ...Array(71).fill(EOT)]);
    expect(Array.from(attentionMask)).toEqual([...Array(7).fill(1), ...Array(70).fill(0)]);
  });

  describe("golden table", () => {
    for (const c of golden) {
      test(c.name, () => {
        const { inputIds, attentionMask } = tokenizer.encode(c.text);
        expect(Array.from(inputIds)).toEqual([...c.ids, ...Array(77 - c.ids.length).fill(EOT)]);
        expect(Array.from(attentionMask)).toEqual([...Array(c.ids.length).fill(1), ...Array(77 - c.ids.length).fill(0)]);
      });
    }
  });

  test("truncation keeps <|endoftext|> as the last id", () => {
    const { inputIds, attentionMask } = tokenizer.encode("cat ".repeat(200));
    expect(inputIds[0]).toBe(49406);
    expect(inputIds[76]).toBe(EOT);
    expect(Array.from(inputIds.subarray(1, 76))).toEqual(Array(75).fill(2368));
    expect(attentionMask.every((v) => v === 1)).toBe(true);
  });

  test("a final capital sigma is lower-cased per character, as Rust does, not to ς", () => {
    expect(Array.from(tokenizer.encode("ΟΔΟΣ").inputIds)).toEqual(Array.from(tokenizer.encode("οδοσ").inputIds));
    expect(Array.from(tokenizer.encode("ΟΔΟΣ").inputIds)).not.toEqual(Array.from(tokenizer.encode("οδος").inputIds));
  });

  test("non-NLLB models ignore the language", () => {
    const warnings = captureLog("warn", () => {
      expect(tokenizer.encode("a photo of a cat", "de")).toEqual(tokenizer.encode("a photo of a cat"));
      expect(tokenizer.encode("a photo of a cat", "unknown")).toEqual(tokenizer.encode("a photo of a cat"));
    });
    expect(warnings).toEqual([]);
  });

  test("NLLB models get the FLORES code glued in front", () => {
    const nllb = ClipTokenizer.fromJson(tokenizerJson(), tokenizerConfig(), undefined, "nllb-clip-base-siglip__mrl");
    // With the CLIP BPE standing in for NLLB's tokenizer, the prefix shows up as its tokens.
    expect(nllb.encode("test search query", "de")).toEqual(tokenizer.encode("deu_Latntest search query"));
    expect(nllb.encode("test search query")).toEqual(tokenizer.encode("test search query"));
  });

  test("config.json: context_length and canonicalize are honoured; a missing file means defaults", async () => {
    const short = ClipTokenizer.fromJson(tokenizerJson(), tokenizerConfig(), { text_cfg: { context_length: 5 } }, "x");
    expect(short.contextLength).toBe(5);
    expect(Array.from(short.encode("a photo of a cat").inputIds)).toEqual([49406, 320, 1125, 539, EOT]);
    const canon = ClipTokenizer.fromJson(tokenizerJson(), tokenizerConfig(), { text_cfg: { tokenizer_kwargs: { clean: "canonicalize" } } }, "x");
    expect(canon.encode("Test   Search Query!")).toEqual(tokenizer.encode("test search query"));
    expect(canon.encode("don't")).toEqual(tokenizer.encode("dont"));
    const missing = await ClipTokenizer.load({ ...fixtureFiles(), modelConfigJson: join(repoRoot, "does-not-exist.json") }, "x");
    expect(missing.contextLength).toBe(77);
    expect(() => ClipTokenizer.fromJson(tokenizerJson(), tokenizerConfig(), { text_cfg: { context_length: "77" } }, "x")).toThrow(/context_length/);
  });

  test("pad token comes from tokenizer_config.json", () => {
    const padded = ClipTokenizer.fromJson(tokenizerJson(), { ...tokenizerConfig(), pad_token: "!" }, undefined, "x");
    const { inputIds, attentionMask } = padded.encode("a cat");
    expect(Array.from(inputIds.subarray(0, 6))).toEqual([49406, 320, 2368, EOT, 0, 0]);
    expect(Array.from(attentionMask.subarray(0, 6))).toEqual([1, 1, 1, 1, 0, 0]);
    expect(() => ClipTokenizer.fromJson(tokenizerJson(), { pad_token: "<no such token>" }, undefined, "x")).toThrow(/pad_token/);
    expect(() => ClipTokenizer.fromJson(tokenizerJson(), {}, undefined, "x")).toThrow(/pad_token/);
  });
});

describe("prepareClipText", () => {
  const plain = { nllb: false, canonicalize: false };

  test('collapses whitespace like " ".join(text.split())', () => {
    expect(prepareClipText("test   search query", plain)).toBe("test search query");
    expect(prepareClipText(" \t a\n\nb\r\n c \u3000d\u00a0e\u2028f ", plain)).toBe("a b c d e f");
    // Python counts the ASCII separators \x1c-\x1f and NEL as whitespace, but not BOM / ZWSP.
    expect(prepareClipText("a\x1cb\x1dc\x1ed\x1fe\x85f", plain)).toBe("a b c d e f");
    expect(prepareClipText("a\ufeffb\u200bc", plain)).toBe("a\ufeffb\u200bc");
    expect(prepareClipText("  \n\t ", plain)).toBe("");
  });

  test("canonicalize deletes ASCII punctuation and lower-cases", () => {
    const canon = { nllb: false, canonicalize: true };
    expect(prepareClipText("Test   Search Query!", canon)).toBe("test search query");
    expect(prepareClipText(`It's "A" (b) [c] {d} <e> a-b_c.d,e;f:g?h/i\\j|k~l^m\`n@o#p$q%r&s*t+u=v`, canon)).toBe("its a b c d e abcdefghijklmnopqrstuv");
    // Only ASCII punctuation goes; Unicode punctuation stays (string.punctuation is ASCII).
    expect(prepareClipText("¡Hola! ‘quoted’ «x» 東京。", canon)).toBe("¡hola ‘quoted’ «x» 東京。");
    // Python's str.lower() is contextual for a final sigma, like JS.
    expect(prepareClipText("ΟΔΟΣ", canon)).toBe("οδος");
  });

  describe("NLLB FLORES prefix", () => {
    const nllb = (language?: string) => prepareClipText("test search query", { nllb: true, canonicalize: false, language });

    test("prefixes the code without a separator", () => {
      expect(nllb("de")).toBe("deu_Latntest search query");
      expect(nllb("pt-BR")).toBe("por_Latntest search query");
      expect(nllb("zh-TW")).toBe("zho_Hanttest search query");
    });

    test("falls back to the part before '-'", () => {
      expect(nllb("de-CH")).toBe("deu_Latntest search query");
      expect(nllb("fr-CA")).toBe("fra_Latntest search query");
    });

    test("unknown languages become English with upstream's warning", () => {
      const warnings = captureLog("warn", () => {
        expect(nllb("unknown")).toBe("eng_Latntest search query");
        expect(nllb("constructor")).toBe("eng_Latntest search query");
      });
      expect(warnings).toHaveLength(2);
      expect(warnings[0]).toContain("Language 'unknown' not found, defaulting to 'en'");
    });

    test("no language, or a non-NLLB model, means no prefix", () => {
      expect(nllb()).toBe("test search query");
      expect(prepareClipText("test search query", { nllb: false, canonicalize: false, language: "de" })).toBe("test search query");
    });

    test("the table has upstream's 56 locales", () => {
      expect(FLORES_TABLE_SIZE).toBe(56);
      expect(floresCode("nb-NO")).toBe("nob_Latn");
      expect(floresCode("sr-Cyrl")).toBe("srp_Cyrl");
      expect(floresCode("mfa")).toBe("zsm_Latn");
    });
  });
});
