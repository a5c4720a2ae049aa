/** CLIP: image and text embeddings in one space, for smart search. */
import type { Embedding } from "../response-values.ts";
import { responseOf, type TaskDescriptor } from "../task-descriptor.ts";
import { ClipTextualModel } from "./textual.ts";
import { ClipVisualModel } from "./visual.ts";

const classes = { visual: ClipVisualModel, textual: ClipTextualModel };

// Annotated: the task names are read from this type (models/identity.ts), not inferred from the classes.
export const clipTask: TaskDescriptor<"clip", "visual" | "textual"> = {
  task: "clip",
  types: ["visual", "textual"],
  preloadOrder: ["textual", "visual"],
  families: { openclip: classes, mclip: classes },
  // The bare embedding: a JSON-array string, or float32 numbers in MessagePack.
  response: responseOf<Embedding>()((embedding) => embedding),
};
