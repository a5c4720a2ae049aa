/**
 * Lays out a CLIP model in a cache folder exactly as upstream's cache holds it, with stand-in
 * ONNX graphs and a tokenizer: the fixture CLIP tokenizer when `../shared/fixtures` is present,
 * else a tiny word-level tokenizer written here, so the core suite runs on a bare clone.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { clipTextualModel, clipVisualModel, mclipTextualModel } from "./onnx-builder.ts";
import { fixturePath, haveFixtures } from "./fixtures.ts";

const PREPROCESS_CFG = {
  size: 224,
  mode: "RGB",
  mean: [0.48145466, 0.4578275, 0.40821073],
  std: [0.26862954, 0.26130258, 0.27577711],
  interpolation: "bicubic",
  resize_mode: "shortest",
  fill_color: 0,
};

const MODEL_CONFIG = { embed_dim: 512, vision_cfg: { image_size: 224 }, text_cfg: { context_length: 77 } };

/** A word-level tokenizer with CLIP's special-token layout (start/end ids, end doubles as pad). */
function tinyTokenizer(): { tokenizer: object; config: object } {
  const words = ["a", "photo", "of", "cat", "dog", "test", "search", "query"];
  const vocab: Record<string, number> = { "<|unk|>": 0 };
  words.forEach((word, i) => (vocab[word] = i + 1));
  vocab["<|startoftext|>"] = 49406;
  vocab["<|endoftext|>"] = 49407;
  const special = (content: string, id: number) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  return {
    tokenizer: {
      version: "1.0",
      truncation: null,
      padding: null,
      added_tokens: [special("<|startoftext|>", 49406), special("<|endoftext|>", 49407)],
      normalizer: { type: "Lowercase" },
      pre_tokenizer: { type: "WhitespaceSplit" },
      post_processor: {
        type: "TemplateProcessing",
        single: [
          { SpecialToken: { id: "<|startoftext|>", type_id: 0 } },
          { Sequence: { id: "A", type_id: 0 } },
          { SpecialToken: { id: "<|endoftext|>", type_id: 0 } },
        ],
        pair: [{ Sequence: { id: "A", type_id: 0 } }, { Sequence: { id: "B", type_id: 1 } }],
        special_tokens: {
          "<|startoftext|>": { id: "<|startoftext|>", ids: [49406], tokens: ["<|startoftext|>"] },
          "<|endoftext|>": { id: "<|endoftext|>", ids: [49407], tokens: ["<|endoftext|>"] },
        },
      },
      decoder: null,
      model: { type: "WordLevel", vocab, unk_token: "<|unk|>" },
    },
    config: { pad_token: "<|endoftext|>", bos_token: "<|startoftext|>", eos_token: "<|endoftext|>", model_max_length: 77 },
  };
}

/** `textual` replaces the text tower stand-in (a tower of the test's own). */
export function clipRepoFiles(options: { mclip?: boolean; textual?: Uint8Array } = {}): Record<string, Uint8Array | string> {
  let tokenizer: string;
  let tokenizerConfig: string;
  if (haveFixtures) {
    tokenizer = readFileSync(fixturePath("clip-tokenizer", "tokenizer.json"), "utf8");
    tokenizerConfig = readFileSync(fixturePath("clip-tokenizer", "tokenizer_config.json"), "utf8");
  } else {
    const tiny = tinyTokenizer();
    tokenizer = JSON.stringify(tiny.tokenizer);
    tokenizerConfig = JSON.stringify(tiny.config);
  }
  return {
    "config.json": JSON.stringify(MODEL_CONFIG),
    "README.md": "stand-in model for tests",
    "visual/model.onnx": clipVisualModel(),
    "visual/preprocess_cfg.json": JSON.stringify(PREPROCESS_CFG),
    "visual/model.armnn": "not for us",
    "textual/model.onnx": options.textual ?? (options.mclip ? mclipTextualModel() : clipTextualModel()),
    "textual/tokenizer.json": tokenizer,
    "textual/tokenizer_config.json": tokenizerConfig,
  };
}

/** Writes a CLIP model folder `<cache>/clip/<name>/…` as upstream's cache has it. */
export function writeClipModel(cacheFolder: string, name: string, options: { mclip?: boolean; textual?: Uint8Array } = {}): string {
  const dir = join(cacheFolder, "clip", name);
  for (const [path, content] of Object.entries(clipRepoFiles(options))) {
    if (path.endsWith(".armnn") || path === "README.md") continue;
    const target = join(dir, path);
    mkdirSync(join(target, ".."), { recursive: true });
    writeFileSync(target, content);
  }
  return dir;
}
