/** A task's response schema is tied to its last model's output by tsc, and serves both encodings. */
import { describe, expect, test } from "bun:test";
import { Type, type TArray, type TNumber, type TSchema } from "@sinclair/typebox";
import { responseOf } from "../../src/tasks/task-descriptor.ts";
import type { Embedding, Float32Value } from "../../src/tasks/response-values.ts";
import { PredictResponse, PredictResponseMsgpack } from "../../src/http/schemas.ts";
import { MODEL_TASKS } from "../../src/tasks/catalog.ts";

type Scored = { text: string[]; score: Float32Value; vector: Embedding };
// Typed as descriptors' builders are: tsc checks them with the MessagePack embedding schema.
const scoredSchema = (embedding: TArray<TNumber>) => Type.Object({ text: Type.Array(Type.String()), score: Type.Number(), vector: embedding });

// Checked by tsc (`npm run typecheck`): each line below must keep failing to compile, or tsc
// reports the unused @ts-expect-error.
// @ts-expect-error a schema missing a field of the output
export const missingField: (embedding: TSchema) => TSchema = responseOf<Scored>()(() => Type.Object({ text: Type.Array(Type.String()), score: Type.Number() }));
// @ts-expect-error a schema with a field the output lacks
export const extraField: (embedding: TSchema) => TSchema = responseOf<{ text: string[] }>()(() =>
  Type.Object({ text: Type.Array(Type.String()), box: Type.Array(Type.Number()) }),
);
// @ts-expect-error a float32 value described as a string
export const wrongType: (embedding: TSchema) => TSchema = responseOf<{ score: Float32Value }>()(() => Type.Object({ score: Type.String() }));

describe("responseOf", () => {
  test("a schema describing the output exactly is the builder itself, handed either embedding schema", () => {
    const build = responseOf<Scored>()(scoredSchema);
    expect(build as unknown).toBe(scoredSchema);
    const json = build(Type.String()) as unknown as { properties: Record<string, TSchema> };
    expect(json.properties.vector!.type).toBe("string");
  });

  test("/predict's schemas carry each task's embedding as a string in JSON and numbers in MessagePack", () => {
    // The task's value is the recognition output (first) or the detector's raw output.
    const face = (schema: TSchema) =>
      (schema as unknown as { properties: Record<string, { anyOf: [{ items: { properties: Record<string, TSchema> } }] }> }).properties["facial-recognition"]!
        .anyOf[0].items.properties.embedding!;
    expect(face(PredictResponse).type).toBe("string");
    expect(face(PredictResponseMsgpack).type).toBe("array");
    // One key per task of the catalog, in its order (a new task needs no change here), then the image size.
    expect(Object.keys((PredictResponse as unknown as { properties: object }).properties)).toEqual([...MODEL_TASKS, "imageHeight", "imageWidth"]);
  });
});
