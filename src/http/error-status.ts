/** Maps failures to HTTP statuses and FastAPI-style details. */
import { ModelLoadError, InvalidInputError } from "../models/inference-model.ts";
import { ModelUnavailableError } from "../models/model-store.ts";
import { RequestError } from "../pipeline/request-error.ts";
import { UnknownModelError } from "../tasks/model-factory.ts";
import { UpstreamUnavailableError } from "../net/fetch-with-timeouts.ts";

export interface ErrorStatus {
  status: number;
  body: unknown;
  headers: Record<string, string>;
}

export function statusForError(error: unknown): ErrorStatus {
  if (error instanceof RequestError) return { status: error.status, body: error.detail, headers: error.headers };
  // Deliberately 400 (upstream: 500): the request names a model that does not exist.
  if (error instanceof UnknownModelError || error instanceof InvalidInputError) return { status: 400, body: error.message, headers: {} };
  if (error instanceof ModelUnavailableError || error instanceof UpstreamUnavailableError) return { status: 503, body: error.message, headers: { "Retry-After": "30" } };
  if (error instanceof ModelLoadError) return { status: 500, body: error.message, headers: {} };
  return { status: 500, body: "Internal Server Error", headers: {} };
}
