/**
 * `fetch` for every outbound request (Hub listings and downloads, PP-OCR and tessdata mirrors): a
 * server that accepts the connection but never answers, or stops sending mid-file, would otherwise
 * hold a /predict for its whole request timeout and a stop signal behind it. Each attempt gets a
 * deadline for the response headers and the body an idle deadline between chunks; transient
 * failures are retried a bounded number of times with exponential backoff. What finally fails
 * is an `UpstreamUnavailableError` naming the host, and the timeout with its variable.
 */
import type { NetworkSettings } from "../config/settings.ts";

export class UpstreamUnavailableError extends Error {
  constructor(
    /** `host[:port]` of the server that failed. */
    readonly host: string,
    reason: string,
    /** The timeout that expired, in seconds; undefined when the connection itself failed. */
    readonly timeoutS?: number,
    options?: { cause?: unknown },
  ) {
    super(`${host} ${reason}`, options);
    this.name = "UpstreamUnavailableError";
  }
}

export interface FetchPolicy extends NetworkSettings {
  /** Wait before the first retry; doubled for each further one. */
  backoffMs?: number;
  /** How a backoff waits (tests pass one that records instead of sleeping). */
  sleep?: (ms: number) => Promise<void>;
}

export type Fetch = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

const DEFAULT_BACKOFF_MS = 1000;
const MAX_BACKOFF_MS = 8000;

/**
 * Answers worth another try: the server or a proxy in front of it is overloaded or restarting.
 * Other statuses (404, 401) are the same on every try.
 */
function isTransientStatus(status: number): boolean {
  return status === 429 || status === 502 || status === 503 || status === 504;
}

/**
 * Connection failures worth another try. A refused connection or an unknown host fails at once
 * and the same way again a second later (the usual case offline), so retrying it would only
 * delay the answer; a reset or a timeout may not recur.
 */
function isTransientError(error: unknown): boolean {
  if (error instanceof UpstreamUnavailableError) return error.timeoutS !== undefined;
  const code = (error as { code?: unknown } | undefined)?.code;
  return code !== "ECONNREFUSED" && code !== "ENOTFOUND" && code !== "EAI_AGAIN";
}

function hostOf(input: string | URL | Request): string {
  return new URL(input instanceof Request ? input.url : input).host;
}

/** The body, erroring with `onIdle()` when no chunk arrives for `idleMs`. */
function withIdleTimeout(body: ReadableStream<Uint8Array>, idleMs: number, onIdle: () => Error): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        let timer: ReturnType<typeof setTimeout> | undefined;
        const idle = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(onIdle()), idleMs);
        });
        try {
          const { done, value } = await Promise.race([reader.read(), idle]);
          if (done) controller.close();
          else controller.enqueue(value);
        } catch (error) {
          // Cancelling closes the connection instead of leaving it open to a silent server.
          reader.cancel(error).catch(() => {});
          controller.error(error);
        } finally {
          clearTimeout(timer);
        }
      },
      cancel(reason) {
        return reader.cancel(reason);
      },
      // Pulled only when read: a body nobody reads (the Hub client's 1-byte probes) arms no timer.
    },
    { highWaterMark: 0 },
  );
}

/** One attempt: the response once its headers arrive within the connect timeout, its body watched for idleness. */
async function attempt(input: string | URL | Request, init: RequestInit | undefined, policy: FetchPolicy, host: string): Promise<Response> {
  const deadline = new AbortController();
  const timer = setTimeout(
    () =>
      deadline.abort(
        new UpstreamUnavailableError(
          host,
          `did not answer within ${policy.connectTimeoutS} s (MACHINE_LEARNING_DOWNLOAD_CONNECT_TIMEOUT_S)`,
          policy.connectTimeoutS,
        ),
      ),
    policy.connectTimeoutS * 1000,
  );
  const signal = init?.signal ? AbortSignal.any([init.signal, deadline.signal]) : deadline.signal;
  let response: Response;
  try {
    response = await fetch(input, { ...init, signal });
  } finally {
    clearTimeout(timer);
  }
  if (!response.body) return response;
  const body = withIdleTimeout(
    response.body,
    policy.readTimeoutS * 1000,
    () => new UpstreamUnavailableError(host, `sent no data for ${policy.readTimeoutS} s (MACHINE_LEARNING_DOWNLOAD_READ_TIMEOUT_S)`, policy.readTimeoutS),
  );
  const watched = new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
  // Callers (the Hub client's errors) read the final URL after redirects.
  Object.defineProperty(watched, "url", { value: response.url });
  return watched;
}

export function fetchWithTimeouts(policy: FetchPolicy): Fetch {
  const sleep = policy.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const backoffMs = policy.backoffMs ?? DEFAULT_BACKOFF_MS;
  return async (input, init) => {
    const host = hostOf(input);
    for (let retry = 0; ; retry++) {
      const last = retry >= policy.retries;
      try {
        const response = await attempt(input, init, policy, host);
        if (last || !isTransientStatus(response.status)) return response;
        await response.body?.cancel().catch(() => {});
      } catch (error) {
        if (init?.signal?.aborted) throw error; // the caller gave up: not a network failure
        if (last || !isTransientError(error)) {
          if (error instanceof UpstreamUnavailableError) throw error;
          throw new UpstreamUnavailableError(host, `is unreachable: ${error instanceof Error ? error.message : String(error)}`, undefined, { cause: error });
        }
      }
      await sleep(Math.min(backoffMs * 2 ** retry, MAX_BACKOFF_MS));
    }
  };
}
