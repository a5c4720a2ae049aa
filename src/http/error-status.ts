/** Maps failures to HTTP statuses and FastAPI-style details. */
import { ModelLoadError, InvalidInputError } from "../models/inference-model.ts";
import { ModelUnavailableError } from "../models/model-store.ts";
import { UnknownModelError } from "../models/registry.ts";
import { RequestError } from "../pipeline/request-error.ts";
import { UpstreamUnavailableError } from "../net/fetch-with-timeouts.ts";

export interface ErrorStatus {
  status: number;
  body: unknown;
  headers: Record<string, string>;
  /** A failure nothing foresaw (a bug, a crash): worth an ERROR line with its stack. The others are logged where they arise, once. */
  unexpected?: true;
}

export function statusForError(error: unknown): ErrorStatus {
  if (error instanceof RequestError) return { status: error.status, body: error.detail, headers: error.headers };
  // Deliberately 400 (upstream: 500): the request names a model that does not exist.
  if (error instanceof UnknownModelError || error instanceof InvalidInputError) return { status: 400, body: error.message, headers: {} };
  if (error instanceof ModelUnavailableError) return { status: 503, body: error.message, headers: { "Retry-After": String(error.retryAfterSeconds) } };
  if (error instanceof UpstreamUnavailableError) return { status: 503, body: error.message, headers: { "Retry-After": "30" } };
  if (error instanceof ModelLoadError) return { status: 500, body: error.message, headers: {} };
  return { status: 500, body: "Internal Server Error", headers: {}, unexpected: true };
}

/** `text` with the cache folder's absolute path taken out: answers name paths relative to the cache. */
export function withoutCachePath(text: string, cacheFolder: string): string {
  return text.replaceAll(`${cacheFolder.replace(/\/+$/, "")}/`, "").replaceAll(cacheFolder, "<cache folder>");
}
