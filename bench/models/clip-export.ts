/**
 * The ViT-B-32 CLIP with the real architecture and seeded weights that `npm run parity` exports
 * (scripts/reference/clip-export.sh), for the bench when the export venv (.venv-export) is
 * present: made on first use, then reused from .cache/clip-export. Without that venv the bench
 * keeps its hand-built stand-ins (clip-vit-b32.ts), same shapes and FLOPs.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";

const ROOT = join(import.meta.dir, "..", "..");
const EXPORTED_NAME = "ViT-B-32__openai";

export function exportedClipModels(): { visual: string; textual: string } | undefined {
  if (!existsSync(join(ROOT, ".venv-export", "bin", "python"))) return undefined;
  const run = spawnSync("bash", [join(ROOT, "scripts", "reference", "clip-export.sh")], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
    timeout: 600_000,
  });
  if (run.status !== 0) throw new Error(`scripts/reference/clip-export.sh failed (exit ${run.status ?? run.signal})`);
  const dir = join(run.stdout.trim().split("\n").pop()!, "clip", EXPORTED_NAME);
  return { visual: join(dir, "visual", "model.onnx"), textual: join(dir, "textual", "model.onnx") };
}
