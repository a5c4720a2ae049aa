/**
 * SentencePiece's `Precompiled` normaliser (XLM-R, NLLB, SigLIP tokenizer.json files), as the
 * Rust library upstream runs applies it: a darts-clone double-array trie over UTF-8 keys maps
 * each grapheme cluster (or, failing that, each character) to its normalised form.
 *
 * @huggingface/tokenizers ignores the charsmap and approximates it with NFKC plus a fixed list of
 * replacements, which gives different ids for text such as emoji ZWJ sequences, some controls and
 * full-width forms (docs/PARITY.md lists the measured cases). Written by hand because it must match
 * the Rust `spm_precompiled` crate step for step, quirks included (see `transform`).
 */
import { PrecompiledNormalizer } from "@huggingface/tokenizers";

const utf8 = new TextEncoder();
const graphemes = new Intl.Segmenter(undefined, { granularity: "grapheme" });

interface Charsmap {
  trie: Uint32Array;
  /** The NUL-separated replacement strings, as UTF-8. */
  normalized: Uint8Array;
}

/** The blob is: trie size in bytes (u32 LE), the trie's u32 LE units, then the strings. */
export function parseCharsmap(blob: Uint8Array): Charsmap {
  if (blob.length < 4) throw new Error("precompiled_charsmap: too short");
  const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  const trieBytes = view.getUint32(0, true);
  if (trieBytes % 4 !== 0 || 4 + trieBytes > blob.length) throw new Error("precompiled_charsmap: bad trie size");
  const trie = new Uint32Array(trieBytes / 4);
  for (let i = 0; i < trie.length; i++) trie[i] = view.getUint32(4 + i * 4, true);
  return { trie, normalized: blob.subarray(4 + trieBytes) };
}

// darts-clone unit layout.
const hasLeaf = (unit: number) => ((unit >>> 8) & 1) === 1;
const leafValueOf = (unit: number) => unit & 0x7fffffff;
const labelOf = (unit: number) => unit & (0x80000000 | 0xff);
const offsetOf = (unit: number) => (unit >>> 10) << ((unit & (1 << 9)) >>> 6);

/** Values of every key that is a prefix of `key`, shortest first (darts-clone commonPrefixSearch). */
function commonPrefixValues(trie: Uint32Array, key: Uint8Array): number[] {
  const results: number[] = [];
  let node = 0;
  let unit = trie[node]!;
  node ^= offsetOf(unit);
  for (const byte of key) {
    if (byte === 0) break;
    node ^= byte;
    unit = trie[node] ?? 0;
    if (labelOf(unit) >>> 0 !== byte) return results;
    node ^= offsetOf(unit);
    if (hasLeaf(unit)) results.push(leafValueOf(trie[node]!));
  }
  return results;
}

const decoder = new TextDecoder();

/**
 * The replacement for `chunk`, or undefined. Like the Rust crate this takes the *first* (shortest)
 * prefix match even when it covers only part of the chunk: the whole chunk is then replaced.
 */
function transform(map: Charsmap, chunk: string): string | undefined {
  const [start] = commonPrefixValues(map.trie, utf8.encode(chunk));
  if (start === undefined) return undefined;
  let end = start;
  while (end < map.normalized.length && map.normalized[end] !== 0) end++;
  return decoder.decode(map.normalized.subarray(start, end));
}

export function precompiledNormalize(map: Charsmap, text: string): string {
  let out = "";
  for (const { segment } of graphemes.segment(text)) {
    // Whole clusters are looked up only when shorter than 6 UTF-8 bytes (as in Rust).
    const whole = utf8.encode(segment).length < 6 ? transform(map, segment) : undefined;
    if (whole !== undefined) {
      out += whole;
      continue;
    }
    for (const char of segment) out += transform(map, char) ?? char;
  }
  return out;
}

const parsed = new WeakMap<object, Charsmap | null>();

/**
 * Makes every `Precompiled` normaliser the JS library builds use the real charsmap. Patching the
 * class (rather than the one instance) also covers the normaliser the library applies to added
 * tokens while it constructs a tokenizer. A tokenizer.json without a charsmap keeps the
 * library's behaviour.
 */
export function useExactPrecompiledNormalizer(): void {
  const proto = PrecompiledNormalizer.prototype as unknown as {
    normalize(this: { charsmap?: string | null }, text: string): string;
    exact?: true;
  };
  if (proto.exact) return;
  const approximate = proto.normalize;
  proto.normalize = function (text) {
    let map = parsed.get(this);
    if (map === undefined) {
      map = typeof this.charsmap === "string" && this.charsmap.length > 0 ? parseCharsmap(Buffer.from(this.charsmap, "base64")) : null;
      parsed.set(this, map);
    }
    return map === null ? approximate.call(this, text) : precompiledNormalize(map, text);
  };
  proto.exact = true;
}
