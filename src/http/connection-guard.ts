/**
 * A TCP front for the HTTP server: Bun.serve exposes neither a socket count nor an accept hook, and
 * its idle timer is reset by every byte, so a cap on open connections and a deadline on request
 * headers are kept here. The front listens on the public address, counts connections and pipes
 * each one's bytes to the HTTP server on a unix socket (no second TCP port to guard).
 *
 * - Beyond `maxConnections` a new connection gets one 503 with `Retry-After` and is closed, unless
 *   its first request line is `GET /ping`: liveness probes are answered `pong` by the front itself,
 *   so the Immich server does not mark a busy service dead.
 * - A request's headers must all arrive within `headerTimeoutS` of its first byte, and a body of
 *   declared length within `bodyTimeoutS` of the headers' end; trickling moves neither deadline.
 * - A connection idle for `keepaliveTimeoutS` between requests (from the last byte of an answer,
 *   or from its opening) is closed here, on a precise timer. Bun's own idle timer ticks every 4 s,
 *   so its 2 s could end a kept-alive connection at any moment of a tick, including the moment a
 *   client sends its next request on it: that request failed with a reset (about 1 in 2,000 under
 *   a soak), and a body still arriving at a tick was cut however fast it came. Behind the front,
 *   Bun's timer is set two ticks past the keep-alive timeout (app.ts) and only reaps what the
 *   front has let go.
 */
import type { Socket, TCPSocketListener } from "bun";
import { readFileSync } from "node:fs";

export interface ConnectionGuardOptions {
  hostname: string;
  port: number;
  /** The HTTP server's unix socket. */
  upstream: string;
  maxConnections: number;
  headerTimeoutS: number;
  keepaliveTimeoutS: number;
  bodyTimeoutS: number;
}

export interface ConnectionGuard {
  readonly port: number;
  /** Stops accepting; with `closeActive` open connections are cut too, else they end with the HTTP server's. */
  stop(closeActive: boolean): void;
}

const HEAD_END = "\r\n\r\n";
/** A head longer than this is not read for its Content-Length (the HTTP server refuses such heads). */
const HEAD_LIMIT = 64 * 1024;
const PING_LINE = "GET /ping ";
/** A refused client that sends nothing is answered 503 after this long, so its descriptor comes back. */
const REFUSED_WAIT_MS = 1000;
/**
 * Refused connections waiting for their first line, at most: each holds a descriptor, and a flood
 * beyond the cap must not take the ones a `/ping` needs. Beyond it a new one is refused at once.
 */
const MAX_REFUSED_WAITING = 32;

const PONG = "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 4\r\nConnection: close\r\n\r\npong";
const REFUSAL_BODY = JSON.stringify({ detail: "Too many open connections; retry shortly" });
const REFUSAL =
  "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Type: application/json\r\n" +
  `Content-Length: ${Buffer.byteLength(REFUSAL_BODY)}\r\nConnection: close\r\n\r\n${REFUSAL_BODY}`;

/**
 * A copy of bytes a socket handed over (Bun may reuse their memory). The copy constructor is a
 * memcpy; `Uint8Array.from` takes the iterator path for a Buffer (5.3 ms for a 300 KB photo's
 * body against 0.07 ms), and a Buffer's own `slice` copies nothing.
 */
function copyOf(data: Uint8Array): Uint8Array {
  return new Uint8Array(data);
}

/** One direction of a pipe: bytes the receiving socket has not taken yet, sent on its next drain. */
class Outbox {
  private queue: Uint8Array[] = [];

  /** Writes what `to` takes now and keeps a copy of the rest (Bun may reuse `data`'s memory), pausing `from` meanwhile. */
  send(to: Socket<unknown>, data: Uint8Array, from: Socket<unknown> | undefined): void {
    if (this.queue.length === 0) {
      const written = to.write(data);
      if (written === data.byteLength) return;
      data = data.subarray(Math.max(written, 0));
    }
    this.queue.push(copyOf(data));
    from?.pause();
  }

  /** On `to`'s drain: sends what waits; once all is out the sender reads again. */
  flush(to: Socket<unknown>, from: Socket<unknown> | undefined): void {
    while (this.queue.length > 0) {
      const head = this.queue[0]!;
      const written = to.write(head);
      if (written < head.byteLength) {
        this.queue[0] = head.subarray(Math.max(written, 0));
        return;
      }
      this.queue.shift();
    }
    from?.resume();
  }

  get empty(): boolean {
    return this.queue.length === 0;
  }
}

interface Link {
  refused: boolean;
  inner?: Socket<Link>;
  /** Client bytes that arrived before the HTTP server's socket opened. */
  early: Uint8Array[];
  toInner: Outbox;
  toClient: Outbox;
  /** idle: between requests; head: reading a request's headers; rest: body and answer. */
  phase: "idle" | "head" | "rest";
  /** The head read so far (latin1, one character per byte), until its blank line. */
  head: string;
  /** Body bytes still to come after a head with a Content-Length; undefined without one. */
  bodyLeft?: number;
  /** Closes the connection when the body has not all arrived within the body timeout. */
  bodyDeadline?: ReturnType<typeof setTimeout>;
  deadline?: ReturnType<typeof setTimeout>;
  /** Closes the connection when it has been idle between requests for the keep-alive timeout. */
  idle?: ReturnType<typeof setTimeout>;
  /** Refused connections: their first bytes, to tell a ping from anything else. */
  firstLine: string;
  /** A refused connection counted among those waiting for their first line. */
  waiting?: boolean;
  clientGone?: boolean;
  innerGone?: boolean;
}

/** Stops the header, body and keep-alive timers of a connection that is ending. */
function clearTimers(link: Link): void {
  clearTimeout(link.deadline);
  clearTimeout(link.idle);
  clearTimeout(link.bodyDeadline);
}

/**
 * Reads `data` as more of a request's head. Once the head is complete: how many of `data`'s bytes
 * are body already, and the body's declared length (undefined without Content-Length).
 */
function readHead(link: Link, data: Uint8Array): { bodyInChunk: number; contentLength: number | undefined } | undefined {
  const before = link.head.length;
  const room = data.subarray(0, Math.max(0, HEAD_LIMIT - before));
  link.head += Buffer.from(room.buffer, room.byteOffset, room.byteLength).toString("latin1");
  const end = link.head.indexOf(HEAD_END, Math.max(0, before - 3));
  if (end === -1) return undefined;
  const declared = /\r\ncontent-length:[ \t]*(\d+)/i.exec(link.head.slice(0, end))?.[1];
  link.head = "";
  return { bodyInChunk: data.byteLength - (end + HEAD_END.length - before), contentLength: declared === undefined ? undefined : Number(declared) };
}

/**
 * The default cap, from the file-descriptor limit: each piped connection holds three descriptors
 * (the client's, ours to the HTTP server, the HTTP server's), and the process keeps about 128 for
 * models, workers, logs and downloads. At most 1024: beyond that many idle sockets are an attack.
 */
export function defaultMaxConnections(limitsFile = "/proc/self/limits"): number {
  let descriptors = 1024;
  try {
    const line = readFileSync(limitsFile, "utf8")
      .split("\n")
      .find((l) => l.startsWith("Max open files"));
    const field = line?.split(/\s{2,}/)[1];
    const soft = field === "unlimited" ? Infinity : Number(field);
    if (soft > 0) descriptors = soft;
  } catch {
    // Not Linux: the common soft limit.
  }
  return Math.max(16, Math.min(1024, Math.floor((descriptors - 128) / 3)));
}

export function startConnectionGuard(options: ConnectionGuardOptions): ConnectionGuard {
  let open = 0;
  let refusedWaiting = 0;
  const headerMs = options.headerTimeoutS * 1000;
  const keepaliveMs = options.keepaliveTimeoutS * 1000;
  const bodyMs = options.bodyTimeoutS * 1000;

  const close = (link: Link, client: Socket<Link>) => {
    clearTimers(link);
    link.inner?.end();
    client.end();
  };

  /** (Re)starts the idle timer; an answer still being written to a slow reader is not idleness. */
  const idleFrom = (link: Link, client: Socket<Link>) => {
    clearTimeout(link.idle);
    link.idle = setTimeout(() => (link.toClient.empty ? close(link, client) : idleFrom(link, client)), keepaliveMs);
  };

  const refuse = (client: Socket<Link>, answer: string) => {
    clearTimeout(client.data.deadline);
    client.end(answer);
  };

  const onRefusedData = (client: Socket<Link>, data: Uint8Array) => {
    const link = client.data;
    link.firstLine += Buffer.from(data.subarray(0, PING_LINE.length)).toString("latin1");
    if (link.firstLine.startsWith(PING_LINE)) refuse(client, PONG);
    else if (!PING_LINE.startsWith(link.firstLine)) refuse(client, REFUSAL);
  };

  const connectInner = (client: Socket<Link>) => {
    const link = client.data;
    Bun.connect<Link>({
      unix: options.upstream,
      data: link,
      socket: {
        open(inner) {
          // The client may have hung up while this socket was connecting.
          if (link.clientGone) return void inner.end();
          link.inner = inner;
          for (const chunk of link.early.splice(0)) link.toInner.send(inner, chunk, client);
          if (link.toInner.empty) client.resume();
        },
        data(inner, data) {
          // The answer has begun: the next bytes from the client start a new request's head.
          if (link.phase === "rest") link.phase = "idle";
          if (link.phase === "idle") idleFrom(link, client);
          link.toClient.send(client, data, inner);
        },
        drain(inner) {
          link.toInner.flush(inner, client);
        },
        close() {
          link.innerGone = true;
          if (link.toClient.empty) close(link, client); // else client.drain ends it once the rest is out
        },
        error() {},
      },
    }).catch(() => close(link, client));
  };

  const listener: TCPSocketListener<Link> = Bun.listen<Link>({
    hostname: options.hostname,
    port: options.port,
    socket: {
      open(client) {
        const refused = open >= options.maxConnections;
        client.data = { refused, early: [], toInner: new Outbox(), toClient: new Outbox(), phase: "idle", head: "", firstLine: "" };
        if (refused) {
          if (refusedWaiting >= MAX_REFUSED_WAITING) return void client.end(REFUSAL);
          refusedWaiting++;
          client.data.waiting = true;
          client.data.deadline = setTimeout(() => refuse(client, REFUSAL), REFUSED_WAIT_MS);
          return;
        }
        open++;
        idleFrom(client.data, client);
        connectInner(client);
      },
      data(client, data) {
        const link = client.data;
        if (link.refused) return onRefusedData(client, data);
        if (link.phase === "idle") {
          clearTimeout(link.idle);
          link.phase = "head";
          link.head = "";
          link.deadline = setTimeout(() => close(link, client), headerMs);
        } else if (link.phase === "rest" && link.bodyLeft !== undefined) {
          link.bodyLeft -= data.byteLength;
          if (link.bodyLeft <= 0) clearTimeout(link.bodyDeadline);
        }
        const head = link.phase === "head" ? readHead(link, data) : undefined;
        if (head) {
          clearTimeout(link.deadline);
          link.phase = "rest";
          link.bodyLeft = head.contentLength === undefined ? undefined : head.contentLength - head.bodyInChunk;
          // However slowly it trickles, a declared body must all arrive within the body timeout.
          if (link.bodyLeft !== undefined && link.bodyLeft > 0) link.bodyDeadline = setTimeout(() => close(link, client), bodyMs);
        }
        if (link.inner) return link.toInner.send(link.inner, data, client);
        // Until the HTTP server's socket opens (a moment on a unix socket) bytes wait here, the client paused.
        link.early.push(copyOf(data));
        client.pause();
      },
      drain(client) {
        const link = client.data;
        link.toClient.flush(client, link.inner);
        if (link.innerGone && link.toClient.empty) close(link, client);
      },
      close(client) {
        const link = client.data;
        clearTimers(link);
        if (link.waiting) refusedWaiting--;
        if (link.refused) return;
        open--;
        link.clientGone = true;
        // The HTTP server sees the hang-up and aborts request.signal, as for a direct client.
        link.inner?.end();
      },
      error() {},
    },
  });

  return {
    port: listener.port,
    stop: (closeActive) => listener.stop(closeActive),
  };
}
