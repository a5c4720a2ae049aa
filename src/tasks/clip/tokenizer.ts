/**
 * CLIP text tokenisation as upstream's `OpenClipTextualEncoder.tokenize`: text cleaning, optional
 * FLORES prefix, then Hugging Face `tokenizers` over textual/tokenizer.json with padding and
 * truncation to the model's context length.
 *
 * The tokenizer itself is @huggingface/tokenizers (pure JS). Upstream runs the Rust library;
 * where the two differ this module corrects for it (see `charwiseLowercase`, `onigurumaWhitespace`, `explicitByteLevelSplit`, `truncate` and
 * precompiled-normalizer.ts).
 */
import { Tokenizer } from "@huggingface/tokenizers";
import { readFile } from "node:fs/promises";
import { floresCode } from "./flores.ts";
import { useExactPrecompiledNormalizer } from "./precompiled-normalizer.ts";

useExactPrecompiledNormalizer();

export interface ClipTextOptions {
  /** NLLB text towers (model name starting with "nllb") take a FLORES-200 language prefix. */
  nllb: boolean;
  /** `text_cfg.tokenizer_kwargs.clean == "canonicalize"` (SigLIP2): drop ASCII punctuation, lower-case. */
  canonicalize: boolean;
  /** The request's locale (`options.language`), e.g. `de`, `pt-BR`. */
  language?: string;
}

export interface ClipTokenizerFiles {
  /** textual/tokenizer.json */
  tokenizerJson: string;
  /** textual/tokenizer_config.json (for `pad_token`) */
  tokenizerConfigJson: string;
  /** The model root's config.json (`text_cfg`); may be missing. */
  modelConfigJson?: string;
}

export interface ClipEncoding {
  /** Token ids, exactly `contextLength` long, padded with the pad token. */
  inputIds: Int32Array;
  /** 1 for real tokens (specials included), 0 for padding. */
  attentionMask: Int32Array;
}

// Python's str.split() separators (str.isspace): unlike JS \s this includes \x1c-\x1f and \x85
// and excludes \ufeff.
const PYTHON_WHITESPACE = /[\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/;
// Python's string.punctuation: the 32 ASCII punctuation characters.
const ASCII_PUNCTUATION = /[!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]/g;

/**
 * Upstream's `clean_text` plus the NLLB prefix: `" ".join(text.split())`; with `canonicalize`
 * ASCII punctuation is deleted and the text lower-cased (Python's str.lower, which like JS
 * toLowerCase is context-sensitive for a final capital sigma); for NLLB models with a language
 * the FLORES-200 code is prepended with no separator ("deu_Latn" + text).
 */
export function prepareClipText(text: string, options: ClipTextOptions): string {
  let out = text
    .split(PYTHON_WHITESPACE)
    .filter((word) => word.length > 0)
    .join(" ");
  if (options.canonicalize) out = out.replace(ASCII_PUNCTUATION, "").toLowerCase();
  if (options.nllb && options.language !== undefined) out = floresCode(options.language) + out;
  return out;
}

/**
 * Rust's `Lowercase` normaliser maps every character on its own, so a word-final "Σ" becomes
 * "σ"; JS toLowerCase (used by the JS library) would give the contextual "ς", a different token.
 * Replacing Σ with σ just before each Lowercase step makes the two agree: Σ is the only
 * character whose JS lower-casing depends on context.
 */
function charwiseLowercase(normalizer: unknown): unknown {
  if (Array.isArray(normalizer)) return normalizer.map(charwiseLowercase);
  if (typeof normalizer !== "object" || normalizer === null) return normalizer;
  const node = normalizer as Record<string, unknown>;
  if (node.type === "Lowercase") {
    return { type: "Sequence", normalizers: [{ type: "Replace", pattern: { String: "Σ" }, content: "σ" }, node] };
  }
  return Object.fromEntries(Object.entries(node).map(([key, value]) => [key, charwiseLowercase(value)]));
}

// Unicode White_Space, what `\s` means to Oniguruma (the Rust library's regex engine). JS's `\s`
// also matches U+FEFF, so a byte-order mark inside a query would be split off or folded to a
// space by the JS library and not by Rust (CLIP's `\s+` normaliser and split pattern).
const WHITE_SPACE_CLASS = "\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";

/**
 * Rewrites `\s` in one regex source to the explicit White_Space class (inside or outside `[...]`),
 * and `\S` outside a class to its negation (no tokenizer.json in use has `\S` inside one).
 */
export function onigurumaWhitespace(pattern: string): string {
  let out = "";
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i]!;
    if (char === "\\" && i + 1 < pattern.length) {
      const next = pattern[++i]!;
      if (next === "s") out += inClass ? WHITE_SPACE_CLASS : `[${WHITE_SPACE_CLASS}]`;
      else if (next === "S" && !inClass) out += `[^${WHITE_SPACE_CLASS}]`;
      else out += char + next;
      continue;
    }
    if (char === "[" && !inClass) inClass = true;
    else if (char === "]" && inClass) inClass = false;
    out += char;
  }
  return out;
}

// The split the Rust ByteLevel pre-tokeniser applies when `use_regex` is on (GPT-2's pattern).
const BYTE_LEVEL_SPLIT = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

/**
 * The JS ByteLevel pre-tokeniser hard-codes that pattern with JS's `\s`; an explicit Split with the
 * same pattern (rewritten below like every other) followed by a regex-free ByteLevel gives Rust's
 * pieces. The pattern matches every character, so keeping the matches is Rust's "isolated" split.
 * With `add_prefix_space` the JS library would add the space to every piece, so that case is kept.
 */
function explicitByteLevelSplit(preTokenizer: unknown): unknown {
  if (Array.isArray(preTokenizer)) return preTokenizer.map(explicitByteLevelSplit);
  if (typeof preTokenizer !== "object" || preTokenizer === null) return preTokenizer;
  const node = preTokenizer as Record<string, unknown>;
  if (node.type === "ByteLevel" && node.use_regex !== false && node.add_prefix_space !== true) {
    return {
      type: "Sequence",
      pretokenizers: [
        { type: "Split", pattern: { Regex: BYTE_LEVEL_SPLIT }, behavior: "Removed", invert: true },
        { ...node, use_regex: false },
      ],
    };
  }
  return Object.fromEntries(Object.entries(node).map(([key, value]) => [key, explicitByteLevelSplit(value)]));
}

/** Applies `onigurumaWhitespace` to every `{"Regex": …}` pattern of a tokenizer.json section. */
function withOnigurumaWhitespace(section: unknown): unknown {
  if (Array.isArray(section)) return section.map(withOnigurumaWhitespace);
  if (typeof section !== "object" || section === null) return section;
  return Object.fromEntries(
    Object.entries(section).map(([key, value]) => [
      key,
      key === "Regex" && typeof value === "string" ? onigurumaWhitespace(value) : withOnigurumaWhitespace(value),
    ]),
  );
}

function asRecord(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new Error(`${what}: expected a JSON object`);
  return value as Record<string, unknown>;
}

/** `pad_token` is a string, or an AddedToken object with `content` in some exports. */
function padTokenOf(tokenizerConfig: Record<string, unknown>): string {
  const pad = tokenizerConfig.pad_token;
  if (typeof pad === "string") return pad;
  if (typeof pad === "object" && pad !== null && typeof (pad as { content?: unknown }).content === "string") {
    return (pad as { content: string }).content;
  }
  throw new Error(`tokenizer_config.json: "pad_token" must be a string, got ${JSON.stringify(pad)}`);
}

interface TextConfig {
  contextLength: number;
  canonicalize: boolean;
}

/** `text_cfg.context_length` (default 77) and `text_cfg.tokenizer_kwargs.clean` from config.json. */
function textConfigOf(modelConfig: unknown): TextConfig {
  if (modelConfig === undefined) return { contextLength: 77, canonicalize: false };
  const textCfg = asRecord(modelConfig, "config.json").text_cfg;
  if (textCfg === undefined) return { contextLength: 77, canonicalize: false };
  const cfg = asRecord(textCfg, 'config.json "text_cfg"');
  const contextLength = cfg.context_length ?? 77;
  if (typeof contextLength !== "number" || !Number.isInteger(contextLength) || contextLength < 2) {
    throw new Error(`config.json: "text_cfg.context_length" must be an integer >= 2, got ${JSON.stringify(contextLength)}`);
  }
  const kwargs = cfg.tokenizer_kwargs;
  const canonicalize = typeof kwargs === "object" && kwargs !== null && (kwargs as Record<string, unknown>).clean === "canonicalize";
  return { contextLength, canonicalize };
}

async function readJson(path: string): Promise<unknown> {
  return JSON.parse(await readFile(path, "utf8"));
}

async function readOptionalJson(path: string | undefined): Promise<unknown> {
  if (path === undefined) return undefined;
  try {
    return await readJson(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

function sameIds(a: readonly number[], offset: number, b: readonly number[]): boolean {
  for (let i = 0; i < b.length; i++) if (a[offset + i] !== b[i]) return false;
  return true;
}

export class ClipTokenizer {
  readonly contextLength: number;

  private constructor(
    private readonly tokenizer: Tokenizer,
    private readonly padId: number,
    contextLength: number,
    private readonly nllb: boolean,
    private readonly canonicalize: boolean,
  ) {
    this.contextLength = contextLength;
  }

  static async load(files: ClipTokenizerFiles, modelName: string): Promise<ClipTokenizer> {
    const [tokenizerJson, tokenizerConfig, modelConfig] = await Promise.all([
      readJson(files.tokenizerJson),
      readJson(files.tokenizerConfigJson),
      readOptionalJson(files.modelConfigJson),
    ]);
    return ClipTokenizer.fromJson(tokenizerJson, tokenizerConfig, modelConfig, modelName);
  }

  /** Same as `load`, from already parsed files (`modelConfig` undefined when config.json is absent). */
  static fromJson(tokenizerJson: unknown, tokenizerConfig: unknown, modelConfig: unknown, modelName: string): ClipTokenizer {
    const spec = asRecord(tokenizerJson, "tokenizer.json");
    const config = asRecord(tokenizerConfig, "tokenizer_config.json");
    // Upstream's Rust Tokenizer.from_file never reads tokenizer_config.json; these two flags
    // would make the JS library apply transformers-only text rewriting, so they are dropped.
    const { remove_space: _rs, do_lowercase_and_remove_accent: _dl, ...libraryConfig } = config;
    const tokenizer = new Tokenizer(
      {
        ...spec,
        normalizer: withOnigurumaWhitespace(charwiseLowercase(spec.normalizer ?? null)),
        pre_tokenizer: withOnigurumaWhitespace(explicitByteLevelSplit(spec.pre_tokenizer ?? null)),
      },
      libraryConfig,
    );
    const padToken = padTokenOf(config);
    const padId = tokenizer.token_to_id(padToken) ?? [...tokenizer.get_added_tokens_decoder()].find(([, token]) => token.content === padToken)?.[0];
    if (padId === undefined) throw new Error(`tokenizer.json has no token for pad_token '${padToken}'`);
    const { contextLength, canonicalize } = textConfigOf(modelConfig);
    return new ClipTokenizer(tokenizer, padId, contextLength, modelName.startsWith("nllb"), canonicalize);
  }

  encode(text: string, language?: string): ClipEncoding {
    const prepared = prepareClipText(text, { nllb: this.nllb, canonicalize: this.canonicalize, language });
    let ids = this.tokenizer.encode(prepared).ids;
    if (ids.length > this.contextLength) ids = this.truncate(prepared, ids);
    const inputIds = new Int32Array(this.contextLength).fill(this.padId);
    inputIds.set(ids);
    const attentionMask = new Int32Array(this.contextLength);
    attentionMask.fill(1, 0, ids.length);
    return { inputIds, attentionMask };
  }

  /**
   * Rust's `enable_truncation(max_length)` truncates the text's tokens to max_length minus the
   * special tokens the post-processor adds, then adds them, so the sequence still ends with
   * `<|endoftext|>`. The JS library has no truncation: the specials are located around the
   * plain encoding and re-attached to its truncated content.
   */
  private truncate(prepared: string, withSpecials: number[]): number[] {
    const content = this.tokenizer.encode(prepared, { add_special_tokens: false }).ids;
    const added = withSpecials.length - content.length;
    let prefix = 0;
    while (prefix <= added && !sameIds(withSpecials, prefix, content)) prefix++;
    const keep = this.contextLength - added;
    if (prefix > added || keep < 1) {
      throw new Error(`cannot truncate to context length ${this.contextLength} around ${added} special tokens`);
    }
    return [...withSpecials.slice(0, prefix), ...content.slice(0, keep), ...withSpecials.slice(prefix + content.length)];
  }
}
