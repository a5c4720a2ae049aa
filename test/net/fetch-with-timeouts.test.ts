/** Outbound requests against local servers that misbehave the way a blocked or broken network does. */
import { afterEach, describe, expect, test } from "bun:test";
import { startSilentServer } from "../support/silent-server.ts";
import { fetchWithTimeouts, UpstreamUnavailableError, type FetchPolicy } from "../../src/net/fetch-with-timeouts.ts";

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

function silentServer(): { url: string; connections: () => number } {
  const server = startSilentServer();
  cleanups.push(server.stop);
  return { url: `${server.url}/file`, connections: server.connections };
}

function httpServer(handler: (request: Request, hit: number) => Response | Promise<Response>): { url: string; hits: () => number } {
  let hits = 0;
  const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: (request) => handler(request, ++hits) });
  cleanups.push(() => server.stop(true));
  return { url: `http://127.0.0.1:${server.port}/file`, hits: () => hits };
}

function policy(overrides: Partial<FetchPolicy> = {}): FetchPolicy & { waits: number[] } {
  const waits: number[] = [];
  return { connectTimeoutS: 0.2, readTimeoutS: 0.2, retries: 2, backoffMs: 10, sleep: async (ms) => void waits.push(ms), waits, ...overrides };
}

async function failure(promise: Promise<unknown>): Promise<UpstreamUnavailableError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(UpstreamUnavailableError);
  return error as UpstreamUnavailableError;
}

describe("fetchWithTimeouts", () => {
  test("a server that never answers fails each attempt at the connect timeout, retried with doubling backoff, naming host and timeout", async () => {
    const silent = silentServer();
    const rules = policy();
    const started = performance.now();
    const error = await failure(fetchWithTimeouts(rules)(silent.url));
    const seconds = (performance.now() - started) / 1000;
    const host = new URL(silent.url).host;
    expect(error.host).toBe(host);
    expect(error.timeoutS).toBe(0.2);
    expect(error.message).toBe(`${host} did not answer within 0.2 s (MACHINE_LEARNING_DOWNLOAD_CONNECT_TIMEOUT_S)`);
    expect(silent.connections()).toBe(3);
    expect(rules.waits).toEqual([10, 20]);
    expect(seconds).toBeGreaterThanOrEqual(0.55);
    expect(seconds).toBeLessThan(5);
  });

  test("a body that stalls mid-way errors after the read timeout instead of waiting forever", async () => {
    const server = httpServer(() => {
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(new Uint8Array(1000));
          // then nothing: the connection stays open and silent
        },
      });
      return new Response(body, { headers: { "content-length": "5000" } });
    });
    const response = await fetchWithTimeouts(policy())(server.url);
    expect(response.status).toBe(200);
    const reader = response.body!.getReader();
    expect((await reader.read()).value?.byteLength).toBe(1000);
    const error = await failure(reader.read());
    expect(error.message).toBe(`${new URL(server.url).host} sent no data for 0.2 s (MACHINE_LEARNING_DOWNLOAD_READ_TIMEOUT_S)`);
  });

  test("a slow but steady body is not cut: the read timeout counts from the last chunk", async () => {
    const server = httpServer(() => {
      let sent = 0;
      const body = new ReadableStream<Uint8Array>({
        async pull(controller) {
          await Bun.sleep(80);
          controller.enqueue(new Uint8Array(10));
          if (++sent === 5) controller.close();
        },
      });
      return new Response(body);
    });
    const response = await fetchWithTimeouts(policy({ readTimeoutS: 0.3 }))(server.url);
    expect((await response.arrayBuffer()).byteLength).toBe(50);
  });

  test("503, 502 and 429 are retried and the later success returned; 404 is returned at once", async () => {
    const flaky = httpServer((_, hit) =>
      hit === 1 ? new Response("busy", { status: 503 }) : hit === 2 ? new Response("slow down", { status: 429 }) : new Response("ok"),
    );
    const rules = policy();
    const response = await fetchWithTimeouts(rules)(flaky.url);
    expect([response.status, await response.text(), flaky.hits()]).toEqual([200, "ok", 3]);
    expect(rules.waits).toEqual([10, 20]);

    const missing = httpServer(() => new Response("no", { status: 404 }));
    const notFound = await fetchWithTimeouts(policy())(missing.url);
    expect([notFound.status, missing.hits()]).toEqual([404, 1]);
  });

  test("retries are bounded: the last transient answer is returned after `retries` more attempts", async () => {
    const down = httpServer(() => new Response("down", { status: 502 }));
    const response = await fetchWithTimeouts(policy({ retries: 1 }))(down.url);
    expect([response.status, down.hits()]).toEqual([502, 2]);
  });

  test("a refused connection fails at once, without retries, naming the host", async () => {
    const probe = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
    const port = probe.port;
    probe.stop(true);
    const rules = policy();
    const error = await failure(fetchWithTimeouts(rules)(`http://127.0.0.1:${port}/x`));
    expect(error.message).toStartWith(`127.0.0.1:${port} is unreachable: `);
    expect(error.timeoutS).toBeUndefined();
    expect(rules.waits).toEqual([]);
  });

  test("the caller's own abort is passed through, not retried", async () => {
    const silent = silentServer();
    const rules = policy({ connectTimeoutS: 5 });
    const abort = new AbortController();
    setTimeout(() => abort.abort(new Error("caller gave up")), 50);
    const error = await fetchWithTimeouts(rules)(silent.url, { signal: abort.signal }).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(error?.message).toBe("caller gave up");
    expect(silent.connections()).toBe(1);
  });
});
