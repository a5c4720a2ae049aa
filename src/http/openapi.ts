/**
 * The OpenAPI 3.0 document served at /openapi.json, written out rather than generated from the
 * routes: it has to say what the service really answers (every status of /predict with its body,
 * both response media types, a multipart-only request with examples that run from /docs), which
 * a route-level generator got wrong (JSON and text request bodies the server refuses with 415,
 * response types never returned, missing statuses). test/http/openapi.test.ts validates it and
 * checks that every route of the app is in it.
 */
import type { TSchema } from "elysia";
import { VERSION } from "../version.ts";
import {
  DEFAULT_ENTRIES_EXAMPLE,
  ErrorResponse,
  HealthResponse,
  PredictBody,
  PredictResponse,
  PredictResponseMsgpack,
  ReadinessResponse,
  ValidationErrorResponse,
} from "./schemas.ts";

/** A TypeBox schema as plain JSON (its symbol-keyed metadata dropped). */
function schema(typebox: TSchema): Record<string, unknown> {
  return JSON.parse(JSON.stringify(typebox)) as Record<string, unknown>;
}

/** The form schema, with the file part as OpenAPI's binary string (TypeBox's `t.File` adds a `default` no upload has). */
function predictFormSchema(): Record<string, unknown> {
  const form = schema(PredictBody) as { properties: Record<string, Record<string, unknown>> };
  const { default: _, ...image } = form.properties.image!;
  form.properties.image = image;
  return form;
}

/** One runnable form per task for Swagger UI's example list (the models upstream's Immich uses by default). */
const PREDICT_EXAMPLES: Record<string, { summary: string; entries: object; text?: string }> = {
  "clip-textual": { summary: "CLIP search query (text)", entries: JSON.parse(DEFAULT_ENTRIES_EXAMPLE) as object, text: "a photo of a cat" },
  "clip-visual": { summary: "CLIP image embedding (upload an image)", entries: { clip: { visual: { modelName: "ViT-B-32__openai" } } } },
  faces: {
    summary: "Face detection + recognition (upload an image)",
    entries: { "facial-recognition": { detection: { modelName: "buffalo_l", options: { minScore: 0.7 } }, recognition: { modelName: "buffalo_l" } } },
  },
  ocr: {
    summary: "OCR (upload an image)",
    entries: {
      ocr: {
        detection: { modelName: "PP-OCRv5_mobile", options: { minScore: 0.5 } },
        recognition: { modelName: "PP-OCRv5_mobile", options: { minScore: 0.8 } },
      },
    },
  },
};

function errorResponse(description: string, body: TSchema = ErrorResponse, headers?: Record<string, unknown>): Record<string, unknown> {
  return { description, ...(headers ? { headers } : {}), content: { "application/json": { schema: schema(body) } } };
}

const RETRY_AFTER = { "Retry-After": { description: "Seconds to wait before retrying", schema: { type: "integer" } } };

const plainText = (example: string) => ({ "text/plain": { schema: { type: "string", example } } });

export function openApiDocument(): Record<string, unknown> {
  return {
    openapi: "3.0.3",
    info: {
      title: "immich-ml",
      version: VERSION,
      description: "Immich's machine-learning API (CLIP, faces, OCR): a drop-in replacement for immich-machine-learning.",
    },
    paths: {
      "/": {
        get: {
          summary: "Service banner",
          responses: {
            200: {
              description: 'Always `{"message":"Immich ML"}`.',
              content: { "application/json": { schema: { type: "object", properties: { message: { type: "string", example: "Immich ML" } } } } },
            },
          },
        },
      },
      "/ping": {
        get: { summary: "Liveness probe used by the Immich server", responses: { 200: { description: "Plain-text `pong`.", content: plainText("pong") } } },
      },
      "/ready": {
        get: {
          summary: "Readiness probe for load balancers and Kubernetes",
          description: "`/ping` is the liveness probe.",
          responses: {
            200: { description: "Preloaded models are loaded: send work.", content: { "application/json": { schema: schema(ReadinessResponse) } } },
            503: {
              description: "Preloaded models are still loading, or the process is shutting down (draining).",
              content: { "application/json": { schema: schema(ReadinessResponse) } },
            },
          },
        },
      },
      "/health": {
        get: {
          summary: "Health report",
          responses: {
            200: {
              description: "Version, uptime, loaded models, queue, threads and execution provider.",
              content: { "application/json": { schema: schema(HealthResponse) } },
            },
          },
        },
      },
      "/metrics": {
        get: {
          summary: "Prometheus metrics",
          responses: {
            200: {
              description: "Requests, latency, inference time, queue, loaded models, downloads (Prometheus text format).",
              content: plainText("immich_ml_requests_total 0"),
            },
          },
        },
      },
      "/predict": {
        post: {
          summary: "Run models on an image or a text",
          description: [
            "Multipart form with `entries` and either `image` or `text`. The form starts with a CLIP search query; `entries` for the other tasks:",
            "",
            ...Object.values(PREDICT_EXAMPLES).map(({ summary, entries }) => `- ${summary}: \`${JSON.stringify(entries)}\``),
            "",
            "Send `Accept: application/msgpack` to receive MessagePack with float32 arrays instead of embedding strings.",
          ].join("\n"),
          requestBody: {
            required: true,
            content: {
              "multipart/form-data": {
                schema: predictFormSchema(),
                examples: Object.fromEntries(
                  Object.entries(PREDICT_EXAMPLES).map(([name, { summary, entries, text }]) => [
                    name,
                    { summary, value: { entries: JSON.stringify(entries), ...(text === undefined ? {} : { text }) } },
                  ]),
                ),
              },
            },
          },
          responses: {
            200: {
              description: "One key per requested task.",
              content: { "application/json": { schema: schema(PredictResponse) }, "application/msgpack": { schema: schema(PredictResponseMsgpack) } },
            },
            400: errorResponse("Undecodable or oversized image, unknown model or task, malformed form, neither image nor text."),
            413: { description: "The body is larger than MACHINE_LEARNING_MAX_BODY_BYTES (empty body; the connection is closed)." },
            415: errorResponse("The body is not multipart/form-data (or urlencoded)."),
            422: errorResponse("`entries` missing, not JSON, or naming no task.", ValidationErrorResponse),
            500: errorResponse("A model failed to load twice, or an unexpected error."),
            502: errorResponse(
              "A task routed to peer instances (MACHINE_LEARNING_ROUTE__<TASK>) got no answer from any, with MACHINE_LEARNING_ROUTE_FALLBACK=none.",
            ),
            503: errorResponse("A model cannot be downloaded (the host and timeout are named), or the service is at capacity.", ErrorResponse, RETRY_AFTER),
            504: errorResponse("The request ran longer than MACHINE_LEARNING_REQUEST_TIMEOUT_S."),
          },
        },
      },
    },
  };
}
