import { log } from "../../log.ts";
import { lookupModel } from "../../models/registry.ts";
import type { OutputTensor } from "../../runtime/onnx-session.ts";
import { Embedding } from "../response-values.ts";

/**
 * Turns a CLIP tower's first output into the response embedding: its first row, as it comes
 * (already L2-normalised inside the exported graph). The first time, warns when the length
 * differs from the size Immich expects for the name (the server sizes its pgvector column from it).
 */
export class EmbeddingReader {
  private checked = false;

  constructor(
    private readonly modelName: string,
    private readonly type: "visual" | "textual",
  ) {}

  read(output: OutputTensor): Embedding {
    const embedding = output.data.slice(0, output.dims.at(-1));
    if (!this.checked) {
      this.checked = true;
      const expected = lookupModel(this.modelName)?.dimensions;
      if (expected !== undefined && expected !== embedding.length) {
        log.warn(`CLIP ${this.type} model '${this.modelName}' returns ${embedding.length} dimensions, but Immich expects ${expected} for this name`);
      }
    }
    return new Embedding(embedding);
  }
}
