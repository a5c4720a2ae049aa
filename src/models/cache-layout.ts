/**
 * Where a model lives on disk: `<CACHE_FOLDER>/<task>/<clean name>[/<revision>]/<type>/model.onnx`,
 * the layout upstream uses, so an existing upstream `/cache` volume is reused as it is.
 */
import { join } from "node:path";
import type { ModelIdentity } from "./identity.ts";
import { cleanName } from "./registry.ts";

export interface CacheLayoutOptions {
  cacheFolder: string;
  /** Upstream appends the revision to the model folder only when it is not the legacy `main`. */
  revision: string;
}

export function modelDirectory(options: CacheLayoutOptions, task: ModelIdentity["task"], name: string): string {
  const dir = join(options.cacheFolder, task, cleanName(name));
  return options.revision === "main" ? dir : join(dir, options.revision);
}

export function modelFilePath(modelDir: string, type: ModelIdentity["type"]): string {
  return join(modelDir, type, "model.onnx");
}
