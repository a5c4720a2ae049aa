/**
 * The corrections `ClipTokenizer` applies to the JS tokenizers library so that it gives the Rust
 * library's ids (found by tokenizer-families.test.ts): their edge cases, without the goldens.
 */
import { describe, expect, test } from "bun:test";
import { PrecompiledNormalizer } from "@huggingface/tokenizers";
import { parseCharsmap, precompiledNormalize } from "../../src/tasks/clip/precompiled-normalizer.ts";
import { onigurumaWhitespace } from "../../src/tasks/clip/tokenizer.ts";

const WS = String.raw`\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000`;

describe("onigurumaWhitespace", () => {
  test("\\s outside a class becomes the White_Space class, inside a class its members", () => {
    expect(onigurumaWhitespace(String.raw`\s+`)).toBe(`[${WS}]+`);
    expect(onigurumaWhitespace(String.raw`[^\s\p{L}]+`)).toBe(String.raw`[^${WS}\p{L}]+`);
  });

  test("\\S outside a class is negated; escaped backslashes and other escapes are kept", () => {
    expect(onigurumaWhitespace(String.raw`\s+(?!\S)`)).toBe(`[${WS}]+(?![^${WS}])`);
    expect(onigurumaWhitespace(String.raw`a\\s\d`)).toBe(String.raw`a\\s\d`);
  });

  test("the rewritten class leaves U+FEFF alone, as Oniguruma does, and still matches U+3000", () => {
    const re = new RegExp(onigurumaWhitespace(String.raw`\s`), "u");
    expect(re.test("\ufeff")).toBe(false);
    expect(re.test("\u3000")).toBe(true);
    expect(/\s/u.test("\ufeff")).toBe(true); // why the rewrite exists
  });
});

/** A charsmap blob holding one double-array trie: key "a" → "Y", key "ab" → "X". */
function tinyCharsmap(): Uint8Array {
  // darts-clone units: label in bits 0-7, has-leaf flag in bit 8, offset from bit 10; a unit's
  // children sit at (its index ^ offset) ^ byte, its leaf value at its index ^ offset.
  const unit = (label: number, offset: number, hasLeaf: boolean) => ((offset << 10) | (hasLeaf ? 1 << 8 : 0) | label) >>> 0;
  const value = (stringOffset: number) => (0x80000000 | stringOffset) >>> 0;
  const [a, b] = [0x61, 0x62];
  const trie = new Uint32Array(256);
  trie[0] = unit(0, 0x01, false); // root: children at 0x01 ^ byte
  const nodeA = 0x01 ^ a; // 0x60
  trie[nodeA] = unit(a, nodeA ^ 0x80, true); // leaf and children based at 0x80
  trie[0x80] = value(2); // "Y"
  const nodeAB = 0x80 ^ b; // 0xe2
  trie[nodeAB] = unit(b, nodeAB ^ 0x10, true);
  trie[0x10] = value(0); // "X"
  const strings = new TextEncoder().encode("X\0Y\0");
  const blob = new Uint8Array(4 + trie.byteLength + strings.length);
  const view = new DataView(blob.buffer);
  view.setUint32(0, trie.byteLength, true);
  trie.forEach((u, i) => view.setUint32(4 + i * 4, u, true));
  blob.set(strings, 4 + trie.byteLength);
  return blob;
}

describe("precompiled normaliser", () => {
  test("malformed tables are refused", () => {
    expect(() => parseCharsmap(new Uint8Array(2))).toThrow("too short");
    expect(() => parseCharsmap(new Uint8Array([9, 0, 0, 0, 1]))).toThrow("bad trie size");
  });

  test("clusters are looked up whole, then character by character; a prefix match replaces the whole cluster", () => {
    const map = parseCharsmap(tinyCharsmap());
    expect(precompiledNormalize(map, "c")).toBe("c");
    // "a" and "b" are two clusters: "a" → "Y", "b" is no key. The key "ab" never applies.
    expect(precompiledNormalize(map, "ab")).toBe("Yb");
    // One cluster "a" + combining acute: the first (shortest) prefix match replaces all of it,
    // the mark included, as in the Rust crate.
    expect(precompiledNormalize(map, "a\u0301")).toBe("Y");
  });

  test("a Precompiled normaliser without a table keeps the library's own behaviour", () => {
    const normalizer = new PrecompiledNormalizer({ type: "Precompiled", precompiled_charsmap: null } as never);
    expect(normalizer.normalize("ｶ\u200d")).toBe("カ ");
  });
});
