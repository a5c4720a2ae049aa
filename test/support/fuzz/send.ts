/**
 * Sends one fuzz case and judges the answer: a status the case allows, never a 5xx, a FastAPI
 * `{"detail": …}` body on every refusal the service itself writes, an embedding and the right
 * image size on success, and no dropped connection unless the body was over the limit.
 */
import type { FuzzCase } from "./cases.ts";

export interface FuzzOutcome {
  /** HTTP status, or `"dropped"` when the connection closed without an answer, `"timeout"` when none came in time. */
  status: number | "dropped" | "timeout";
  ms: number;
  /** Why this answer is wrong; undefined when it is right. */
  problem: string | undefined;
}

export async function sendCase(url: string, fuzzCase: FuzzCase, timeoutMs = 30_000): Promise<FuzzOutcome> {
  const started = performance.now();
  let response: Response;
  let text: string;
  try {
    response = await fetch(`${url}${fuzzCase.path}`, {
      method: fuzzCase.method,
      headers: fuzzCase.headers,
      ...(fuzzCase.body ? { body: fuzzCase.body } : {}),
      signal: AbortSignal.timeout(timeoutMs),
    });
    text = await response.text();
  } catch (error) {
    const ms = performance.now() - started;
    if (error instanceof Error && error.name === "TimeoutError") return { status: "timeout", ms, problem: `no answer within ${timeoutMs} ms` };
    const problem = fuzzCase.mayDrop ? undefined : `connection failed: ${error instanceof Error ? error.message : String(error)}`;
    return { status: "dropped", ms, problem };
  }
  return { status: response.status, ms: performance.now() - started, problem: judge(fuzzCase, response, text) };
}

function judge(fuzzCase: FuzzCase, response: Response, text: string): string | undefined {
  const { status } = response;
  if (status >= 500) return `server error ${status}: ${text.slice(0, 300)}`;
  if (!fuzzCase.expect.includes(status)) return `status ${status}, expected ${fuzzCase.expect.join(" or ")}: ${text.slice(0, 300)}`;
  // 413 comes from Bun's HTTP layer before the app sees the request, with no body of ours.
  if (status === 413) return undefined;
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return `status ${status} with a body that is not JSON: ${text.slice(0, 100)}`;
  }
  const record = (body ?? {}) as Record<string, unknown>;
  if (status >= 400) return "detail" in record ? undefined : `status ${status} without a detail: ${text.slice(0, 200)}`;
  if (fuzzCase.path !== "/predict") return undefined;
  if (typeof record.clip !== "string" || !record.clip.startsWith("[")) return `200 without an embedding string: ${text.slice(0, 200)}`;
  if (fuzzCase.imageSize) {
    const [width, height] = fuzzCase.imageSize;
    if (record.imageWidth !== width || record.imageHeight !== height)
      return `200 reports ${record.imageWidth}x${record.imageHeight}, expected ${width}x${height}`;
  }
  return undefined;
}
