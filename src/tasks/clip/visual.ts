/**
 * CLIP image encoder (`clip`/`visual`), also the image tower of the M-CLIP models. Pre-processing
 * is upstream's legacy transform (see visual-preprocess.ts), run on a worker thread; the output is
 * already L2-normalised inside the exported graph, so it is returned as it comes.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { InferenceModel, type Payload } from "../../models/inference-model.ts";
import { modelFilePath } from "../../models/cache-layout.ts";
import { OnnxSession } from "../../runtime/onnx-session.ts";
import type { Embedding } from "../response-values.ts";
import { parseClipPreprocessConfig, type ClipPreprocessConfig } from "./visual-preprocess.ts";
import { EmbeddingReader } from "./embedding-size.ts";

export class ClipVisualModel extends InferenceModel<Embedding> {
  readonly identity = { task: "clip", type: "visual" } as const;
  private session: OnnxSession | undefined;
  private config: ClipPreprocessConfig | undefined;
  private readonly embeddings = new EmbeddingReader(this.name, "visual");

  protected async loadFrom(modelDir: string): Promise<void> {
    const cfgPath = join(modelDir, "visual", "preprocess_cfg.json");
    this.config = parseClipPreprocessConfig(JSON.parse(await readFile(cfgPath, "utf8")));
    this.session = await OnnxSession.create(modelFilePath(modelDir, "visual"), this.context.session);
  }

  async predict(payload: Payload): Promise<Embedding> {
    const image = this.requireImage(payload);
    const session = this.session!;
    const config = this.config!;
    const tensor = await this.context.pool.run("clip.visualInput", { image, config });
    const [output] = await session.run({
      [session.inputs[0]!.name]: { type: "float32", data: tensor, dims: [1, 3, config.size, config.size] },
    });
    return this.embeddings.read(output!);
  }

  async unload(): Promise<void> {
    await this.session?.release();
    this.session = undefined;
  }
}
