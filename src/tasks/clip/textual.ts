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
import type { Feed, InputSpec } from "../../runtime/onnx-session.ts";
import type { Embedding } from "../response-values.ts";
import { ClipTokenizer } from "./tokenizer.ts";
import { EmbeddingReader } from "./embedding-size.ts";

/**
 * Queries are cut at a space after this many characters before tokenising: far more than 77
 * tokens' worth, so ids are unchanged, while a megabyte of text cannot stall the event loop.
 */
const MAX_TEXT_CHARS = 16_384;

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
    return { tokenizer, session: await this.openSession(modelDir) };
  }

  async predict(payload: Payload, options: ModelOptions): Promise<Embedding> {
    const { session, tokenizer } = this.loaded;
    const language = typeof options.language === "string" ? options.language : undefined;
    const { inputIds, attentionMask } = tokenizer.encode(boundText(this.requireText(payload)), language);
    const dims = [1, tokenizer.contextLength];
    const feeds: Record<string, Feed> =
      lookupModel(this.name)?.family === "mclip"
        ? { input_ids: intFeed(session.input("input_ids"), inputIds, dims), attention_mask: intFeed(session.input("attention_mask"), attentionMask, dims) }
        : { [session.inputs[0]!.name]: intFeed(session.inputs[0], inputIds, dims) };
    const [output] = await session.run(feeds);
    return this.embeddings.read(output!);
  }
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
