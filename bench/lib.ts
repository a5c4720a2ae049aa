/** Shared helpers for the benchmark scripts. */
import { readdirSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { tmpdir } from "node:os";

export interface ServerProcess {
  url: string;
  pid: number;
  /** Resolves with the exit code once the process ends (for crash and shutdown checks). */
  exited: Promise<number>;
  stop(): Promise<void>;
}

/** Every process started from src/main.ts (the server re-executes itself once, see huge-page-malloc.ts). Linux only. */
export function serverPids(): number[] {
  return readdirSync("/proc")
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("src/main.ts");
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** One thread of a server process: its OS name and its /proc stat fields from field 3 (state) on. */
export interface ServerThread {
  readonly name: string;
  /** `fields[k]` is stat field k + 3: minflt 10 → [7], utime and stime 14, 15 → [11], [12], nice 19 → [16]. */
  readonly fields: readonly string[];
}

/** Every thread of every server process (`serverPids`), read from /proc. Linux only. */
export function serverThreads(): ServerThread[] {
  const threads: ServerThread[] = [];
  for (const pid of serverPids()) {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        const name = readFileSync(`/proc/${pid}/task/${tid}/comm`, "utf8").trim();
        const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
        // The fields after the parenthesised name (which may hold spaces) start at field 3.
        threads.push({ name, fields: stat.slice(stat.lastIndexOf(")") + 2).split(" ") });
      } catch {
        // the thread ended between listing and reading
      }
    }
  }
  return threads;
}

/** Starts `src/main.ts serve` as its own process on a free port and waits for /ready (preloaded models loaded). */
export async function startServerProcess(env: Record<string, string>, port = 30000 + Math.floor(Math.random() * 20000)): Promise<ServerProcess> {
  const child = Bun.spawn([process.execPath, resolve(import.meta.dir, "../src/main.ts"), "serve"], {
    env: { ...process.env, IMMICH_HOST: "127.0.0.1", IMMICH_PORT: String(port), ORT_DISABLE_TELEMETRY: "1", ...env },
    stdout: "inherit",
    stderr: "inherit",
  });
  const url = `http://127.0.0.1:${port}`;
  let stopping = false;
  // A server that dies mid-run otherwise shows only as the client's ECONNRESET.
  void child.exited.then((code) => {
    if (!stopping) console.error(`server ${child.pid} exited unexpectedly: code ${code}, signal ${child.signalCode ?? "none"}`);
  });
  for (let i = 0; i < 600; i++) {
    try {
      if ((await fetch(`${url}/ready`)).ok) break;
    } catch {
      // not listening yet
    }
    await Bun.sleep(100);
  }
  return {
    url,
    pid: child.pid,
    exited: child.exited,
    async stop() {
      stopping = true;
      child.kill("SIGTERM");
      await child.exited;
    },
  };
}

/** The arithmetic mean; NaN for no values. */
export function mean(values: readonly number[]): number {
  return values.reduce((sum, value) => sum + value, 0) / values.length;
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** A /predict body as the Immich server's hand-built multipart. */
export function multipartBody(parts: { entries: string; image?: Uint8Array; text?: string }): { body: Buffer; contentType: string } {
  const boundary = `immich-${crypto.randomUUID()}`;
  const chunks: Buffer[] = [Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="entries"\r\n\r\n${parts.entries}\r\n`)];
  if (parts.image) {
    chunks.push(
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="image"; filename="blob"\r\nContent-Type: application/octet-stream\r\n\r\n`),
    );
    chunks.push(Buffer.from(parts.image));
    chunks.push(Buffer.from("\r\n"));
  }
  if (parts.text !== undefined) chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="text"\r\n\r\n${parts.text}\r\n`));
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}

/** The word after `flag` on the command line; undefined without the flag. */
export function argText(flag: string): string | undefined {
  const index = process.argv.indexOf(flag);
  return index >= 0 ? process.argv[index + 1] : undefined;
}

export function argNumber(flag: string, fallback: number): number {
  const text = argText(flag);
  return text === undefined ? fallback : Number(text);
}

export interface LoadResult {
  /** 2xx responses. */
  completed: number;
  /** Steady-state completions per second (first to last completion). */
  requestsPerSecond: number;
  /**
   * How long the load ran: autocannon's duration plus the wind-down in which it waits for the
   * requests in flight (about half a second here), whose completions `completed` counts.
   */
  elapsedSeconds: number;
  p50ms: number;
  p99ms: number;
  non2xx: number;
  errors: number;
}

export interface LoadRequest {
  body: Buffer;
  contentType: string;
}

/** One autocannon run as its client reports it: the 2xx latencies and the steady-state rate. */
export interface AutocannonRun {
  latencies: number[];
  completed: number;
  requestsPerSecond: number;
  /** From the load's start to its end, as `LoadResult.elapsedSeconds`. */
  elapsedSeconds: number;
  non2xx: number;
  errors: number;
}

/**
 * Runs autocannon as its own Node process (its HTTP client is far cheaper under Node than inside
 * a Bun process, and a separate process cannot stall the one measuring). Each connection cycles
 * through `requests` in order.
 */
export async function runAutocannon(url: string, requests: LoadRequest[], connections: number, seconds: number): Promise<LoadResult> {
  return summarizeRuns([await autocannonRun(url, requests, connections, seconds)]);
}

/** `runAutocannon` before summarizing, for loads measured in parts (`summarizeRuns`). */
export async function autocannonRun(url: string, requests: LoadRequest[], connections: number, seconds: number): Promise<AutocannonRun> {
  // Unique per call: several loads may run at once (immich-concurrency.ts).
  const prefix = `${tmpdir()}/immich-ml-bench-${process.pid}-${crypto.randomUUID()}`;
  const bodyFiles = await Promise.all(
    requests.map(async (request, i) => {
      const bodyFile = `${prefix}-${i}.bin`;
      await Bun.write(bodyFile, request.body);
      return { bodyFile, contentType: request.contentType };
    }),
  );
  const specFile = `${prefix}.json`;
  await Bun.write(specFile, JSON.stringify({ url, connections, seconds, requests: bodyFiles }));
  const child = Bun.spawn(["node", resolve(import.meta.dir, "autocannon-client.mjs"), specFile], { stdout: "pipe", stderr: "inherit" });
  const text = await new Response(child.stdout).text();
  for (const file of [specFile, ...bodyFiles.map((b) => b.bodyFile)]) await Bun.file(file).delete();
  return JSON.parse(text) as AutocannonRun;
}

/**
 * Runs of one load as one result: latencies pooled, and the steady-state rate over the runs'
 * spans from first to last completion taken together (each run's span is what its own rate was
 * measured over).
 */
export function summarizeRuns(runs: AutocannonRun[]): LoadResult {
  const latencies = runs.flatMap((run) => run.latencies);
  const steady = runs.filter((run) => run.completed > 1 && run.requestsPerSecond > 0);
  const intervals = steady.reduce((sum, run) => sum + run.completed - 1, 0);
  const span = steady.reduce((sum, run) => sum + (run.completed - 1) / run.requestsPerSecond, 0);
  return {
    completed: runs.reduce((sum, run) => sum + run.completed, 0),
    requestsPerSecond: span > 0 ? intervals / span : 0,
    elapsedSeconds: runs.reduce((sum, run) => sum + run.elapsedSeconds, 0),
    p50ms: percentile(latencies, 50),
    p99ms: percentile(latencies, 99),
    non2xx: runs.reduce((sum, run) => sum + run.non2xx, 0),
    errors: runs.reduce((sum, run) => sum + run.errors, 0),
  };
}
