/**
 * CLIP text encoder (`clip`/`textual`): OpenCLIP towers take `text` token ids; M-CLIP towers take
 * `input_ids` + `attention_mask`. Each input's integer type is read from the session (exports
 * differ between int32 and int64). The output is normalised inside the graph.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { ModelInputs, ModelOptions, Payload } from "../../models/inference-model.ts";
import { lookupModel } from "../../models/registry.ts";
import { OnnxModel, type OnnxLoaded } from "../../models/onnx-model.ts";
import type { Feed, InputSpec, OnnxSession } from "../../runtime/onnx-session.ts";
import type { SequenceProbe } from "../../runtime/sequence-variants.ts";
import type { Embedding } from "../response-values.ts";
import { type ClipEncoding, ClipTokenizer } from "./tokenizer.ts";
import { EmbeddingReader } from "./embedding-size.ts";

/**
 * Queries are cut at a space after this many characters before tokenising: far more than 77
 * tokens' worth, so ids are unchanged, while a megabyte of text cannot stall the event loop.
 */
const MAX_TEXT_CHARS = 16_384;

/**
 * Sequence lengths the tower also gets a session for (runtime/sequence-variants.ts): a query is
 * run at the shortest that holds its tokens instead of the full context. On the bench's ViT-B/32
 * text tower (two threads, one process, alternating): 11.5, 13.6 and 20.0 ms a run against 36.0
 * at 77 tokens.
 */
const SHORTER_SEQUENCES = [8, 16, 32];
/** A probe that fills few positions: the one every length is checked with. */
const SHORT_PROBE = "a photo of a cat";
/** Probes that fill a length are this word repeated, as many times as fit. */
const FILLER_WORD = "photo";

interface ClipTextualLoaded extends OnnxLoaded {
  readonly tokenizer: ClipTokenizer;
}

export class ClipTextualModel extends OnnxModel<Embedding, ModelInputs, ClipTextualLoaded> {
  readonly identity = { task: "clip", type: "textual" } as const;
  // Search queries come from someone typing in Immich, often while a library scan keeps the
  // inference threads busy; their runs go ahead of the scan's queued ones.
  protected override readonly interactive = true;
  private readonly embeddings = new EmbeddingReader(this.name, "textual");

  protected async loadFrom(modelDir: string): Promise<ClipTextualLoaded> {
    const textual = join(modelDir, "textual");
    const modelConfig = join(modelDir, "config.json");
    const tokenizer = await ClipTokenizer.load(
      {
        tokenizerJson: join(textual, "tokenizer.json"),
        tokenizerConfigJson: join(textual, "tokenizer_config.json"),
        ...(existsSync(modelConfig) ? { modelConfigJson: modelConfig } : {}),
      },
      this.name,
    );
    const session = await this.openSession(modelDir, {
      shorterSequences: { lengths: SHORTER_SEQUENCES, probes: (opened) => this.probes(opened, tokenizer) },
    });
    return { tokenizer, session };
  }

  async predict(payload: Payload, options: ModelOptions): Promise<Embedding> {
    const { session, tokenizer } = this.loaded;
    const language = typeof options.language === "string" ? options.language : undefined;
    const encoding = tokenizer.encode(boundText(this.requireText(payload)), language);
    // The positions after the text are padding, which a shorter session leaves out.
    const length = session.sequenceLength(tokenCount(encoding)) ?? tokenizer.contextLength;
    const [output] = await session.run(this.feeds(session, encoding, length));
    return this.embeddings.read(output!);
  }

  private feeds(session: OnnxSession, { inputIds, attentionMask }: ClipEncoding, length: number): Record<string, Feed> {
    const dims = [1, length];
    const ids = inputIds.subarray(0, length);
    return lookupModel(this.name)?.family === "mclip"
      ? {
          input_ids: intFeed(session.input("input_ids"), ids, dims),
          attention_mask: intFeed(session.input("attention_mask"), attentionMask.subarray(0, length), dims),
        }
      : { [session.inputs[0]!.name]: intFeed(session.inputs[0], ids, dims) };
  }

  /** Full-length encodings of a short text and of texts filling each shorter length, to check those sessions with. */
  private probes(session: OnnxSession, tokenizer: ClipTokenizer): SequenceProbe[] {
    const texts = [SHORT_PROBE, ...SHORTER_SEQUENCES.map((length) => fillingText(tokenizer, length))];
    return texts.map((text) => {
      const encoding = tokenizer.encode(text);
      return { tokens: tokenCount(encoding), feeds: this.feeds(session, encoding, tokenizer.contextLength) };
    });
  }
}

/** Positions the text takes, special tokens included: the rest is padding. */
function tokenCount(encoding: ClipEncoding): number {
  return encoding.attentionMask.reduce((sum, mask) => sum + mask, 0);
}

/** The filler word repeated as often as its encoding stays within `length` tokens. */
function fillingText(tokenizer: ClipTokenizer, length: number): string {
  for (let words = length; words > 1; words--) {
    const text = Array(words).fill(FILLER_WORD).join(" ");
    if (tokenCount(tokenizer.encode(text)) <= length) return text;
  }
  return FILLER_WORD;
}

function boundText(text: string): string {
  if (text.length <= MAX_TEXT_CHARS) return text;
  const cut = text.indexOf(" ", MAX_TEXT_CHARS);
  return cut < 0 ? text.slice(0, MAX_TEXT_CHARS) : text.slice(0, cut);
}

function intFeed(input: InputSpec | undefined, values: Int32Array, dims: number[]): Feed {
  if (!input) throw new Error("the text model lacks an expected input");
  if (input.type === "int64") return { type: "int64", data: BigInt64Array.from(values, (v) => BigInt(v)), dims };
  return { type: "int32", data: values, dims };
}
