import { log } from "../../log.ts";
import { lookupModel } from "../../models/registry.ts";

/**
 * Warns once when a model's embedding length differs from the size Immich expects for its name
 * (the server sizes its pgvector column from that), which would break search. Returns true.
 */
export function checkEmbeddingSize(modelName: string, type: string, actual: number): boolean {
  const expected = lookupModel(modelName)?.dimensions;
  if (expected !== undefined && expected !== actual) {
    log.warn(`CLIP ${type} model '${modelName}' returns ${actual} dimensions, but Immich expects ${expected} for this name`);
  }
  return true;
}
