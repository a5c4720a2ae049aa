/**
 * The HTTP surface: upstream's three routes (`/`, `/ping`, `/predict`), plus `/health`, the OpenAPI
 * document (`/openapi.json`) and Swagger UI (`/docs`). Routes stay thin: /predict reads the form,
 * decodes the payload and hands it to the pipeline; every error becomes a FastAPI-style
 * `{"detail": …}` body with the status upstream uses (or a clearer 4xx where upstream answers 500).
 */
import { Elysia } from "elysia";
import type { Server } from "bun";
import { log } from "../log.ts";
import { parseEntries } from "../pipeline/entries.ts";
import { DECODED_BYTES_PER_PIXEL, decodeImage } from "../pipeline/decode-image.ts";
import { runPipeline, type PipelineRun } from "../pipeline/predict.ts";
import { RequestError } from "../pipeline/request-error.ts";
import type { Payload } from "../models/inference-model.ts";
import type { Service } from "../service.ts";
import { ByteBudget } from "./admission.ts";
import { encodeJson, encodeMsgpack, wantsMsgpack } from "./encode-response.ts";
import { statusForError, withoutCachePath } from "./error-status.ts";
import { readPredictForm, type PredictForm } from "./predict-form.ts";
import { RequestLog } from "./request-log.ts";
import { modelLabel } from "./metrics.ts";
import type { PipelineEntry } from "../pipeline/entries.ts";
import { openApiDocument } from "./openapi.ts";
import { PredictBody } from "./schemas.ts";
import { swaggerAsset, swaggerPage } from "./swagger-ui.ts";

/** Decoded image bytes held at once by default (more when one image at the pixel limit needs more). */
const DECODED_BYTES_IN_FLIGHT = 1024 * 1024 * 1024;

const KNOWN_PATHS: Record<string, string> = { "/": "GET", "/ping": "GET", "/predict": "POST", "/health": "GET", "/metrics": "GET", "/ready": "GET" };

function detail(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify({ detail: body }), { status, headers: { "content-type": "application/json", ...headers } });
}

/** FastAPI's shape for a missing/invalid form field, e.g. `entries` absent. */
function validationDetail(errors: ReadonlyArray<{ path: string; value: unknown; message: string }>): unknown[] {
  return errors.map((error) => {
    const field = error.path.replace(/^\//, "");
    const missing = error.value === undefined;
    return {
      type: missing ? "missing" : "invalid",
      loc: ["body", field],
      msg: missing ? "Field required" : error.message,
      input: missing ? null : error.value,
    };
  });
}

/** Bun's largest idle timeout, and how often its idle timer ticks (seconds). */
const MAX_IDLE_SECONDS = 255;
const IDLE_TICK_SECONDS = 4;

export function createApp(service: Service) {
  const { settings, gate } = service;
  const bodyBudget = new ByteBudget(settings.maxBodyBytesInFlight);
  // Room for one image at the pixel limit, or for many previews.
  const decodedBudget = new ByteBudget(Math.max(DECODED_BYTES_IN_FLIGHT, settings.maxImagePixels * DECODED_BYTES_PER_PIXEL));
  // Behind the connection front, which closes idle connections itself on a precise timer
  // (connection-guard.ts), Bun's coarse one (4 s ticks) must never close a kept-alive connection
  // first: it is set two ticks later.
  const keepaliveSeconds = Math.min(MAX_IDLE_SECONDS, Math.ceil(settings.httpKeepaliveTimeoutS) + (settings.connectionGuard ? 2 * IDLE_TICK_SECONDS : 0));

  const { metrics } = service;
  const requestLog = new RequestLog();
  const { fallback } = service;
  const observeInference = (entry: PipelineEntry, seconds: number) =>
    metrics.inferenceSeconds.observe({ task: entry.task, type: entry.type, model: modelLabel(entry.modelName) }, seconds);

  /** Counts one answered /predict per entry it named (or once, unlabelled, if entries were unreadable). */
  function record(entries: readonly PipelineEntry[] | undefined, status: number, seconds: number): void {
    const labels = entries?.length
      ? entries.map((e) => ({ task: e.task, type: e.type, model: modelLabel(e.modelName) }))
      : [{ task: "none", type: "none", model: "none" }];
    for (const label of labels) {
      const labelled = { ...label, status: String(status) };
      metrics.requests.inc(labelled);
      metrics.requestSeconds.observe(labelled, seconds);
    }
  }

  async function predict(form: PredictForm, request: Request, parsed: { entries?: PipelineEntry[] }): Promise<Response> {
    const entries = parseEntries(form.entries!);
    parsed.entries = entries;
    requestLog.tasks(request, entries);
    const { image, text } = form;
    if (image === undefined && text === undefined) throw new RequestError(400, "Either image or text must be provided");
    const beforeDecode = (decodedBytes: number) => {
      if (!decodedBudget.reserve(request, decodedBytes)) {
        throw new RequestError(503, "Service is decoding too many images at once, retry shortly", { "Retry-After": "1" });
      }
    };
    const decodePayload = async (): Promise<Payload> =>
      image !== undefined
        ? {
            kind: "image",
            image: await decodeImage(new Uint8Array(await image.arrayBuffer()), {
              maxPixels: settings.maxImagePixels,
              maxSeconds: settings.requestTimeoutS,
              beforeDecode,
              buffers: service.imageBuffers,
            }),
          }
        : { kind: "text", text: text! };
    let payload: Promise<Payload> | undefined; // decoded once, and only if a task runs here
    const run: PipelineRun = async (list) => runPipeline(service.cache, service.dependenciesOf, list, await (payload ??= decodePayload()), observeInference);
    const runHere = (list: readonly PipelineEntry[]) => (fallback ? fallback(list, run) : run(list));
    // Task routing (src/routing/): routed tasks go to peers, the rest run here; one merged answer.
    // A request that completed has nothing left reading its decoded pixels: their buffer is reused.
    const releaseDecoded = async () => {
      const decoded = await payload;
      if (decoded?.kind === "image") service.imageBuffers.give(decoded.image.data.buffer as SharedArrayBuffer);
    };
    if (service.router?.routes(entries)) {
      const routed = await service.router.predict(entries, image !== undefined ? { image } : { text: text! }, request.headers.get("accept"), runHere);
      await releaseDecoded();
      return routed;
    }
    const response = await runHere(entries);
    await releaseDecoded();
    if (wantsMsgpack(request.headers.get("accept"))) {
      return new Response(encodeMsgpack(response), { headers: { "content-type": "application/msgpack" } });
    }
    return new Response(encodeJson(response), { headers: { "content-type": "application/json" } });
  }

  function errorResponse(code: string | number, error: unknown, request: Request): Response {
    if (code === "NOT_FOUND") {
      const path = new URL(request.url).pathname;
      const allowed = KNOWN_PATHS[path];
      return allowed ? detail(405, "Method Not Allowed", { allow: allowed }) : detail(404, "Not Found");
    }
    if (code === "VALIDATION") return detail(422, validationDetail((error as { all: never }).all));
    if (code === "PARSE") {
      // Our form reader's own errors (415, 400 with a reason) arrive wrapped by Elysia.
      const cause = (error as Error).cause;
      return cause instanceof RequestError ? detail(cause.status, cause.detail, cause.headers) : detail(400, "Malformed request body");
    }
    const { status, body, headers, unexpected } = statusForError(error);
    if (unexpected)
      log.error(`${request.method} ${new URL(request.url).pathname} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    return detail(status, typeof body === "string" ? withoutCachePath(body, settings.cacheFolder) : body, headers);
  }

  function releaseBudgets(request: Request): void {
    bodyBudget.release(request);
    decodedBudget.release(request);
  }

  /**
   * Admits a request's body before it is read: its bytes must fit the in-flight budget (else 503
   * at once, nothing read), and the whole body must arrive within MACHINE_LEARNING_BODY_TIMEOUT_S
   * (Bun's per-request timer, which trickled bytes do not reset; it closes the connection).
   */
  function admitBody(request: Request, server: Server<unknown> | null): Response | undefined {
    if (request.method !== "POST") return undefined;
    const declared = Number(request.headers.get("content-length"));
    const bytes = Number.isFinite(declared) && declared >= 0 ? Math.min(declared, settings.maxBodyBytes) : settings.maxBodyBytes;
    if (!bodyBudget.reserve(request, bytes)) {
      return detail(503, "Service is reading too many request bodies at once, retry shortly", { "Retry-After": "1" });
    }
    request.signal.addEventListener("abort", () => releaseBudgets(request), { once: true });
    server?.timeout(request, Math.ceil(settings.bodyTimeoutS));
    return undefined;
  }

  const openApiJson = JSON.stringify(openApiDocument());

  // Bun's idle timer (checked every 4 s) closes idle keep-alive connections when nothing fronts the
  // server; it also runs while a body is read, which admitBody replaces with the body timeout, and
  // stops once the body is read.
  return (
    new Elysia({ serve: { maxRequestBodySize: settings.maxBodyBytes, idleTimeout: keepaliveSeconds } })
      .onRequest(({ request, server }) => {
        requestLog.start(request);
        return admitBody(request, server);
      })
      .onError(({ code, error, request, set }) => {
        const response = errorResponse(code, error, request);
        // Elysia's after-response hook sees `set.status`, not the status of a Response returned here.
        set.status = response.status;
        return response;
      })
      .onAfterResponse(({ request, set, responseValue, server }) => {
        releaseBudgets(request);
        // Back from the body timeout to the keep-alive timeout for the wait before the next request.
        server?.timeout(request, keepaliveSeconds);
        requestLog.finish(request, responseValue instanceof Response ? responseValue.status : typeof set.status === "number" ? set.status : 200);
      })
      // The API's description (openapi.ts) and Swagger UI, both served from the package: no CDN.
      .get("/openapi.json", () => new Response(openApiJson, { headers: { "content-type": "application/json" } }))
      .get("/docs", () => new Response(swaggerPage("/openapi.json"), { headers: { "content-type": "text/html; charset=utf-8" } }))
      .get("/docs/:asset", ({ params }) => swaggerAsset(params.asset) ?? detail(404, "Not Found"))
      .get("/", () => new Response('{"message":"Immich ML"}', { headers: { "content-type": "application/json" } }))
      .get("/ping", () => new Response("pong", { headers: { "content-type": "text/plain; charset=utf-8" } }))
      .get("/ready", () => {
        const report = service.readiness.report();
        return Response.json(report, { status: report.ready ? 200 : 503 });
      })
      .get("/metrics", async () => {
        metrics.inFlight.set(gate.inFlight);
        metrics.queueDepth.set(gate.queueDepth);
        const loaded = service.cache.loaded();
        metrics.loadedModels.set(loaded.length);
        metrics.modelLoadSeconds.reset();
        for (const model of loaded) {
          if (model.loadSeconds !== undefined) metrics.modelLoadSeconds.set({ task: model.task, type: model.type, model: model.name }, model.loadSeconds);
        }
        return new Response(await metrics.registry.metrics(), { headers: { "content-type": metrics.registry.contentType } });
      })
      .get("/health", () => Response.json(service.health()))
      .post(
        "/predict",
        async ({ body, request }) => {
          const started = performance.now();
          const parsed: { entries?: PipelineEntry[] } = {};
          try {
            const form = body as PredictForm;
            // A text payload is a search query: someone is waiting for it (see admission.ts).
            // A client that hangs up is given up on like a timed-out request (request.signal fires).
            const response = await gate.run(() => predict(form, request, parsed), settings.requestTimeoutS, form.text !== undefined, request.signal);
            record(parsed.entries, 200, (performance.now() - started) / 1000);
            return response;
          } catch (error) {
            record(parsed.entries, statusForError(error).status, (performance.now() - started) / 1000);
            throw error;
          }
        },
        {
          parse: ({ request }) => readPredictForm(request),
          body: PredictBody,
        },
      )
  );
}
