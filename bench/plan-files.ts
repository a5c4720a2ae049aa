/**
 * Floor plans written to a folder as plain files (`plans.json`, raw tensor and JPEG bytes), so that
 * bench/plain-floor.mjs can run them in a process that loads nothing of ours: only onnxruntime-node
 * and sharp, under Node or Bun.
 */
import { writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import type { FloorPlan } from "./floor-plans.ts";

export interface PlanFileTensor {
  type: string;
  dims: number[];
  file: string;
}

export interface PlanFileStep {
  model: string;
  /** `<name>/<type>`, as the service labels the model's stage timers. */
  label: string;
  /** The service opens this model's session as interactive: with the search query thread count. */
  interactive?: boolean;
  feeds: Record<string, PlanFileTensor>;
}

export interface PlanFile {
  steps: PlanFileStep[];
  images: string[];
}

export const stepLabel = (model: string) => `${basename(dirname(dirname(model)))}/${basename(dirname(model))}`;

/** Writes every plan into `folder`; a tensor or image shared by several plans is written once. */
export function writePlanFiles(folder: string, plans: Record<string, FloorPlan>): void {
  const files = new Map<ArrayBufferView, string>();
  const fileFor = (bytes: ArrayBufferView): string => {
    let file = files.get(bytes);
    if (!file) {
      file = `${files.size}.bin`;
      writeFileSync(join(folder, file), new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      files.set(bytes, file);
    }
    return file;
  };
  const out: Record<string, PlanFile> = {};
  for (const [id, plan] of Object.entries(plans)) {
    out[id] = {
      steps: plan.steps.map((step) => ({
        model: step.model,
        label: stepLabel(step.model),
        interactive: step.interactive,
        feeds: Object.fromEntries(
          Object.entries(step.feeds).map(([name, tensor]) => [
            name,
            { type: tensor.type, dims: [...tensor.dims], file: fileFor(tensor.data as ArrayBufferView) },
          ]),
        ),
      })),
      images: plan.images.map(fileFor),
    };
  }
  writeFileSync(join(folder, "plans.json"), JSON.stringify(out));
}
