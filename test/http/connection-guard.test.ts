/**
 * The TCP front (connection-guard.ts): a cap on open connections with 503 beyond it and `/ping`
 * still answered, a header deadline that trickling does not move, and everything else (keep-alive,
 * large bodies) unchanged through it. Client hang-ups reaching the server through the front are
 * covered by connections.test.ts, whose servers run behind it.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { connect, type Socket } from "node:net";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { predict, startTestServer, type TestServer } from "../support/test-server.ts";
import { writeClipModel } from "../support/clip-cache.ts";
import { tempDir } from "../support/temp.ts";
import { waitUntil } from "../support/wait-until.ts";
import { defaultMaxConnections } from "../../src/http/connection-guard.ts";

const sharp: typeof import("sharp").default = require("sharp");
const MODEL = "ViT-B-32__openai";

/** A raw connection that collects what the server sends and notes when it closes. */
interface RawClient {
  socket: Socket;
  received(): string;
  closed: Promise<number>;
}

function open(url: string): Promise<RawClient> {
  const { port } = new URL(url);
  return new Promise((resolve) => {
    let text = "";
    let markClosed: (ms: number) => void = () => {};
    const closed = new Promise<number>((done) => (markClosed = done));
    const started = performance.now();
    const socket = connect(Number(port), "127.0.0.1", () => resolve({ socket, received: () => text, closed }));
    socket.on("data", (data) => (text += String(data)));
    socket.on("error", () => {});
    socket.on("close", () => markClosed(performance.now() - started));
  });
}

/** Resolves once `client` has received text matching `pattern`, or rejects after `ms`. */
async function waitFor(client: RawClient, pattern: RegExp, ms = 3_000): Promise<string> {
  const until = performance.now() + ms;
  while (!pattern.test(client.received())) {
    if (performance.now() > until) throw new Error(`no ${pattern} within ${ms} ms; got ${JSON.stringify(client.received())}`);
    await Bun.sleep(10);
  }
  return client.received();
}

/** The status line of a /health asked on a new connection, which is then closed. */
async function healthStatus(url: string): Promise<string> {
  const client = await open(url);
  client.socket.write("GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  await client.closed;
  return client.received().split("\r\n")[0]!;
}

/** Connections the front has counted: each is answered a /health (a refused one would get 503). */
async function hold(url: string, count: number): Promise<RawClient[]> {
  const holders: RawClient[] = [];
  for (let i = 0; i < count; i++) {
    const client = await open(url);
    client.socket.write("GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
    expect((await waitFor(client, /\r\n\r\n\{.*\}$/)).split("\r\n")[0]).toBe("HTTP/1.1 200 OK");
    holders.push(client);
  }
  return holders;
}

/** Waits until the front admits a new connection again (it has seen a hang-up). */
async function admitsAgain(url: string): Promise<void> {
  await waitUntil(async () => (await healthStatus(url)) === "HTTP/1.1 200 OK", "the front to admit a connection");
}

/** Hangs up and waits until the front has seen it, so the next test starts below the cap. */
async function release(url: string, clients: RawClient[]): Promise<void> {
  for (const client of clients) client.socket.destroy();
  await Promise.all(clients.map((client) => client.closed));
  await admitsAgain(url);
}

describe("the connection cap", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ MACHINE_LEARNING_MAX_CONNECTIONS: "3", MACHINE_LEARNING_HTTP_KEEPALIVE_TIMEOUT_S: "30" });
  });
  afterAll(() => server.stop());

  test("refuses one connection beyond it with 503 at once, still answers /ping, and admits again once one closes", async () => {
    const holders = await hold(server.url, 3);

    const extra = await open(server.url);
    const started = performance.now();
    extra.socket.write("GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
    const refusal = await waitFor(extra, /\r\n\r\n\{.*\}$/);
    expect(performance.now() - started).toBeLessThan(500);
    expect(refusal.split("\r\n")[0]).toBe("HTTP/1.1 503 Service Unavailable");
    expect(refusal).toContain("\r\nRetry-After: 1\r\n");
    expect(JSON.parse(refusal.slice(refusal.indexOf("\r\n\r\n") + 4)).detail).toMatch(/connections/);
    await extra.closed;

    // A liveness probe at the limit: split across packets, as a slow client may send it.
    const probe = await open(server.url);
    probe.socket.write("GET /pi");
    await Bun.sleep(20); // the second half in a later packet, as a slow client sends it
    probe.socket.write("ng HTTP/1.1\r\nHost: x\r\n\r\n");
    const pong = await waitFor(probe, /pong$/);
    expect(pong.split("\r\n")[0]).toBe("HTTP/1.1 200 OK");

    holders[0]!.socket.destroy();
    await holders[0]!.closed;
    await admitsAgain(server.url);
    await release(server.url, holders);
  });

  test("a refused client that sends nothing is answered and let go within about a second", async () => {
    const holders = await hold(server.url, 3);
    const silent = await open(server.url);
    expect(await silent.closed).toBeLessThan(3_000);
    expect(silent.received().split("\r\n")[0]).toBe("HTTP/1.1 503 Service Unavailable");
    await release(server.url, holders);
  });

  test("beyond 32 refused clients waiting for their first line, the next is refused without waiting (descriptors stay for /ping)", async () => {
    const holders = await hold(server.url, 3);
    const waiting = await Promise.all(Array.from({ length: 32 }, () => open(server.url)));
    // For the front to accept the 32: they send nothing, so nothing from outside tells when it has.
    await Bun.sleep(50);
    const extra = await open(server.url);
    expect(await extra.closed).toBeLessThan(500);
    expect(extra.received().split("\r\n")[0]).toBe("HTTP/1.1 503 Service Unavailable");
    expect(Math.min(...(await Promise.all(waiting.map((client) => client.closed))))).toBeGreaterThan(800);
    await release(server.url, holders);
  });
});

/** Sends a request head a byte every 100 ms and resolves with the ms until the server closes the connection (or `giveUpMs`). */
async function trickleHead(url: string, giveUpMs: number): Promise<number> {
  const client = await open(url);
  const head = `GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ${"a".repeat(200)}\r\n\r\n`;
  let sent = 0;
  const timer = setInterval(() => {
    if (sent < head.length && !client.socket.destroyed) client.socket.write(head[sent++]!);
  }, 100);
  const giveUp = setTimeout(() => client.socket.destroy(), giveUpMs);
  const ms = await client.closed;
  clearInterval(timer);
  clearTimeout(giveUp);
  return ms;
}

/** Two servers with the same settings, one behind the front and one without, started for a describe block. */
function guardedAndBare(env: () => Record<string, string>): { guarded: TestServer; bare: TestServer } {
  const pair = {} as { guarded: TestServer; bare: TestServer };
  beforeAll(async () => {
    pair.guarded = await startTestServer(env());
    pair.bare = await startTestServer({ ...env(), MACHINE_LEARNING_CONNECTION_GUARD: "false" });
  });
  afterAll(async () => {
    await pair.guarded.stop();
    await pair.bare.stop();
  });
  return pair;
}

describe("the header deadline", () => {
  const servers = guardedAndBare(() => ({ MACHINE_LEARNING_HEADER_TIMEOUT_S: "1", MACHINE_LEARNING_HTTP_KEEPALIVE_TIMEOUT_S: "5" }));

  test("cuts off headers trickled a byte at a time, which Bun.serve alone keeps reading", async () => {
    const [guardedMs, bareMs] = await Promise.all([trickleHead(servers.guarded.url, 4_000), trickleHead(servers.bare.url, 4_000)]);
    expect(guardedMs).toBeLessThan(2_500);
    expect(bareMs).toBeGreaterThanOrEqual(3_900);
  }, 10_000);

  test("keep-alive works through the front, the deadline starting afresh with each request", async () => {
    const client = await open(servers.guarded.url);
    client.socket.write("GET /ping HTTP/1.1\r\nHost: x\r\n\r\n");
    await waitFor(client, /pong$/);
    // Idle longer than the header deadline: it runs from a request's first byte, not from the last answer.
    await Bun.sleep(1_500);
    client.socket.write("GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
    const both = await waitFor(client, /pong[\s\S]*HTTP\/1\.1 200 OK[\s\S]*\r\n\r\n.+$/);
    expect(both.match(/HTTP\/1\.1 200 OK/g)).toHaveLength(2);
    expect(client.socket.destroyed).toBe(false);
    client.socket.destroy();
  }, 10_000);
});

describe("a large upload through the front", () => {
  let cache: string | undefined;
  const servers = guardedAndBare(() => {
    if (!cache) writeClipModel((cache = tempDir()), MODEL);
    return { MACHINE_LEARNING_CACHE_FOLDER: cache };
  });

  test("arrives byte for byte: an uncompressed noise PNG (CRC-checked) gives the same embedding as without it", async () => {
    const width = 1440;
    const height = 1080;
    const noise = new Uint8Array(width * height * 3);
    let state = 12345;
    for (let i = 0; i < noise.length; i++) noise[i] = (state = (state * 1103515245 + 12345) >>> 0) >>> 24;
    const png = new Uint8Array(
      await sharp(noise, { raw: { width, height, channels: 3 } })
        .png({ compressionLevel: 0 })
        .toBuffer(),
    );
    expect(png.byteLength).toBeGreaterThan(4_000_000);
    const entries = { clip: { visual: { modelName: MODEL } } };
    const [through, direct] = await Promise.all([predict(servers.guarded.url, entries, { image: png }), predict(servers.bare.url, entries, { image: png })]);
    expect(through.status).toBe(200);
    expect(direct.status).toBe(200);
    expect(await through.text()).toBe(await direct.text());
  }, 30_000);
});

describe("the default cap", () => {
  test("follows the descriptor limit, three descriptors a connection after a reserve, at most 1024", () => {
    const limits = (soft: string) => {
      const file = join(tempDir(), "limits");
      writeFileSync(
        file,
        `Limit                     Soft Limit           Hard Limit           Units     \nMax open files            ${soft}                 524288               files     \n`,
      );
      return file;
    };
    expect(defaultMaxConnections(limits("1024"))).toBe(298);
    expect(defaultMaxConnections(limits("300"))).toBe(57);
    expect(defaultMaxConnections(limits("524288"))).toBe(1024);
    expect(defaultMaxConnections(limits("100"))).toBe(16);
    expect(defaultMaxConnections(limits("unlimited"))).toBe(1024);
    expect(defaultMaxConnections(join(tempDir(), "absent"))).toBe(298);
  });
});
