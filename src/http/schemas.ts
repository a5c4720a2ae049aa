/**
 * Request and response schemas (TypeBox). `PredictBody` validates /predict's form; all of them
 * are also the schemas of the OpenAPI document (openapi.ts), so they are written as OpenAPI 3.0
 * schema objects: one `example`, never JSON Schema's `examples` array, which 3.0 rejects.
 */
import { t, type TSchema } from "elysia";
import { TASKS } from "../tasks/catalog.ts";

/** The `entries` Swagger UI's form starts with: a CLIP search query, the request that needs no image. */
export const DEFAULT_ENTRIES_EXAMPLE = '{"clip":{"textual":{"modelName":"ViT-B-32__openai"}}}';

export const PredictBody = t.Object(
  {
    entries: t.String({
      description: `JSON: {task: {type: {modelName, options?}}}. Tasks: ${TASKS.map(({ task, types }) => `${task} (${types.join(", ")})`).join(", ")}.`,
      example: DEFAULT_ENTRIES_EXAMPLE,
    }),
    image: t.Optional(t.File({ description: "The image (JPEG, PNG, WebP, …) for visual, face and OCR models. Wins over `text`." })),
    text: t.Optional(t.String({ description: "The query for CLIP textual models.", example: "a photo of a cat" })),
  },
  { additionalProperties: true },
);

/** `{"detail": …}`, FastAPI's error body: a sentence, or for 422 its list of field errors. */
export const ErrorResponse = t.Object({ detail: t.String({ description: "What went wrong.", example: "Model 'ViT-B-32__openai' is not available: …" }) });

export const ValidationErrorResponse = t.Object({
  detail: t.Union([
    t.String({ example: "No model task requested." }),
    t.Array(
      t.Object({
        type: t.String({ example: "missing" }),
        loc: t.Array(t.String(), { example: ["body", "entries"] }),
        msg: t.String({ example: "Field required" }),
        input: t.Unknown({ description: "The value received (null when missing)." }),
      }),
    ),
  ]),
});

/** One optional key per task, each shaped by its descriptor, then the decoded image's size. */
function predictResponse(embedding: TSchema) {
  return t.Object(
    {
      ...Object.fromEntries(TASKS.map((descriptor) => [descriptor.task, t.Optional(descriptor.response(embedding))])),
      imageHeight: t.Optional(t.Integer()),
      imageWidth: t.Optional(t.Integer()),
    },
    { description: "One key per requested task; image requests also carry the decoded image's size." },
  );
}

/** JSON, upstream's bytes: embeddings are strings holding a JSON array (orjson-formatted float32). */
export const PredictResponse = predictResponse(
  t.String({ description: "A JSON array of float32 values, as a string", example: "[-0.013126737,0.00004877679]" }),
);

/** MessagePack (`Accept: application/msgpack`): embeddings are arrays of float32 numbers. */
export const PredictResponseMsgpack = predictResponse(t.Array(t.Number({ format: "float" }), { description: "float32 values" }));

export const ReadinessResponse = t.Object({
  ready: t.Boolean(),
  state: t.String({ enum: ["loading", "ready", "draining"] }),
  reason: t.String({ example: "serving" }),
});

export const HealthResponse = t.Object(
  {
    status: t.String({ example: "ok" }),
    version: t.String(),
    uptimeSeconds: t.Number(),
    providers: t.Array(t.String(), { nullable: true, description: "Execution providers, once a model has loaded" }),
    loadedModels: t.Array(t.Object({}, { additionalProperties: true })),
    inFlight: t.Integer(),
    queued: t.Integer(),
    runtime: t.Object({}, { additionalProperties: true }),
    rssBytes: t.Integer(),
  },
  { additionalProperties: true },
);
