/**
 * CLIP image encoder (`clip`/`visual`), also the image tower of the M-CLIP models. Pre-processing
 * is upstream's legacy transform (see visual-preprocess.ts), run on a worker thread; the output is
 * already L2-normalised inside the exported graph, so it is returned as it comes.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { ModelInputs, Payload } from "../../models/inference-model.ts";
import { OnnxModel, type OnnxLoaded } from "../../models/onnx-model.ts";
import type { Embedding } from "../response-values.ts";
import { parseClipPreprocessConfig, type ClipPreprocessConfig } from "./visual-preprocess.ts";
import { EmbeddingReader } from "./embedding-size.ts";
import { recycleTensor } from "../../runtime/tensor-pool.ts";

interface ClipVisualLoaded extends OnnxLoaded {
  readonly config: ClipPreprocessConfig;
}

export class ClipVisualModel extends OnnxModel<Embedding, ModelInputs, ClipVisualLoaded> {
  readonly identity = { task: "clip", type: "visual" } as const;
  private readonly embeddings = new EmbeddingReader(this.name, "visual");

  protected async loadFrom(modelDir: string): Promise<ClipVisualLoaded> {
    const cfgPath = join(modelDir, "visual", "preprocess_cfg.json");
    const config = parseClipPreprocessConfig(JSON.parse(await readFile(cfgPath, "utf8")));
    return { config, session: await this.openSession(modelDir) };
  }

  async predict(payload: Payload): Promise<Embedding> {
    const image = this.requireImage(payload);
    const { session, config } = this.loaded;
    const tensor = await this.context.pool.run("clip.visualInput", { image, config });
    const [output] = await session.run({
      [session.inputs[0]!.name]: { type: "float32", data: tensor, dims: [1, 3, config.size, config.size] },
    });
    recycleTensor(tensor);
    return this.embeddings.read(output!);
  }
}
