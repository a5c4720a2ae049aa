/**
 * Request and response schemas (TypeBox). The same schemas validate /predict's form and generate
 * the OpenAPI document served at /openapi.json, with examples that run from the /docs page.
 */
import { t } from "elysia";

export const PredictBody = t.Object(
  {
    entries: t.String({
      description: "JSON: {task: {type: {modelName, options?}}}. Tasks: clip (visual, textual), facial-recognition (detection, recognition), ocr (detection, recognition).",
      examples: ['{"clip":{"textual":{"modelName":"ViT-B-32__openai"}}}'],
    }),
    image: t.Optional(t.File({ description: "The image (JPEG, PNG, WebP, …) for visual, face and OCR models. Wins over `text`." })),
    text: t.Optional(t.String({ description: "The query for CLIP textual models.", examples: ["a photo of a cat"] })),
  },
  { additionalProperties: true },
);

const Detail = t.Object({ detail: t.Unknown({ description: "What went wrong (a string, or FastAPI's validation list)." }) });

const Embedding = t.String({ description: "A JSON array of float32 values, as a string", examples: ["[-0.013126737,0.00004877679]"] });

const Face = t.Object({
  boundingBox: t.Object({ x1: t.Number(), y1: t.Number(), x2: t.Number(), y2: t.Number() }),
  embedding: Embedding,
  score: t.Number(),
});

const Ocr = t.Object({
  text: t.Array(t.String()),
  box: t.Array(t.Number(), { description: "8 numbers per line: TL TR BR BL as x,y normalised to 0-1" }),
  boxScore: t.Array(t.Number()),
  textScore: t.Array(t.Number()),
});

export const PredictResponse = t.Object(
  {
    clip: t.Optional(Embedding),
    "facial-recognition": t.Optional(t.Array(Face)),
    ocr: t.Optional(Ocr),
    imageHeight: t.Optional(t.Integer()),
    imageWidth: t.Optional(t.Integer()),
  },
  { description: "One key per requested task; image requests also carry the decoded image's size." },
);

export const ErrorResponse = Detail;
