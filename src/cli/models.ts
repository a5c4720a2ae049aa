/** `immich-ml models`: the supported names per task, their embedding size, and what the cache holds. */
import { loadSettings } from "../config/settings.ts";
import { TASK_TYPES } from "../tasks/catalog.ts";
import { ModelStore } from "../models/model-store.ts";
import { catalog } from "./model-catalog.ts";
import { folderSize } from "./folder-size.ts";
import { formatBytes } from "./format-bytes.ts";

export function listModels(): number {
  const settings = loadSettings();
  const store = new ModelStore({ cacheFolder: settings.cacheFolder, revision: settings.modelRevision, offline: true });
  const tasks = catalog();
  const width = Math.max(...tasks.flatMap(([, models]) => models.map((model) => model.name.length)));
  const lines = [`Cache folder: ${settings.cacheFolder}`, `Columns: name, embedding size, cached types and size on disk`];
  for (const [task, models] of tasks) {
    lines.push("", `${task}:`);
    for (const model of models) {
      const cached = TASK_TYPES[task].filter((type) => store.isCached({ task, type }, model.name));
      const size = cached.length > 0 ? `  cached: ${cached.join(", ")} (${formatBytes(folderSize(store.directory(task, model.name)))})` : "";
      lines.push(`  ${model.name.padEnd(width)}  ${String(model.dimensions ?? "-").padStart(4)}${size}`);
    }
  }
  console.log(lines.join("\n"));
  return 0;
}
