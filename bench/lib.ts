/** Shared helpers for the benchmark scripts. */
import { join, resolve } from "node:path";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { heavyVisualModel } from "../test/support/onnx-builder.ts";
import { clipRepoFiles } from "../test/support/clip-cache.ts";
import { tmpdir } from "node:os";

export interface ServerProcess {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

/** Starts `src/main.ts serve` as its own process on a free port and waits for /ping. */
export async function startServerProcess(env: Record<string, string>, port = 30000 + Math.floor(Math.random() * 20000)): Promise<ServerProcess> {
  const child = Bun.spawn([process.execPath, resolve(import.meta.dir, "../src/main.ts"), "serve"], {
    env: { ...process.env, IMMICH_HOST: "127.0.0.1", IMMICH_PORT: String(port), ORT_DISABLE_TELEMETRY: "1", ...env },
    stdout: "inherit",
    stderr: "inherit",
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 600; i++) {
    try {
      if ((await fetch(`${url}/ping`)).ok) break;
    } catch {
      await Bun.sleep(100);
    }
  }
  return {
    url,
    pid: child.pid,
    async stop() {
      child.kill("SIGTERM");
      await child.exited;
    },
  };
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
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="image"; filename="blob"\r\nContent-Type: application/octet-stream\r\n\r\n`));
    chunks.push(Buffer.from(parts.image));
    chunks.push(Buffer.from("\r\n"));
  }
  if (parts.text !== undefined) chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="text"\r\n\r\n${parts.text}\r\n`));
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}

export function argNumber(flag: string, fallback: number): number {
  const index = process.argv.indexOf(flag);
  return index >= 0 ? Number(process.argv[index + 1]) : fallback;
}

export interface LoadResult {
  requestsPerSecond: number;
  p50ms: number;
  p99ms: number;
  non2xx: number;
  errors: number;
}

/**
 * Runs autocannon as its own Node process (its HTTP client is far cheaper under Node than inside
 * a Bun process, and a separate process cannot stall the one measuring).
 */
export async function runAutocannon(url: string, body: Buffer, contentType: string, connections: number, seconds: number): Promise<LoadResult> {
  const bodyFile = `${tmpdir()}/immich-ml-bench-body-${process.pid}.bin`;
  await Bun.write(bodyFile, body);
  const child = Bun.spawn(
    ["node", resolve(import.meta.dir, "autocannon-client.mjs"), url, bodyFile, contentType, String(connections), String(seconds)],
    { stdout: "pipe", stderr: "ignore" },
  );
  const text = await new Response(child.stdout).text();
  const result = JSON.parse(text) as {
    requests: { average: number };
    latency: { p50: number; p99: number };
    non2xx: number;
    errors: number;
  };
  await Bun.file(bodyFile).delete();
  return { requestsPerSecond: result.requests.average, p50ms: result.latency.p50, p99ms: result.latency.p99, non2xx: result.non2xx, errors: result.errors };
}

/**
 * A cache folder with `clip/ViT-B-32__openai` laid out as upstream's, its visual model replaced by
 * a stand-in with real compute (the text model stays the tiny stand-in). Returns the folder.
 */
export function benchClipCache(): string {
  const cache = mkdtempSync(join(tmpdir(), "immich-ml-bench-"));
  const modelDir = join(cache, "clip", "ViT-B-32__openai");
  for (const [path, content] of Object.entries(clipRepoFiles())) {
    if (path.endsWith(".armnn") || path === "README.md") continue;
    mkdirSync(join(modelDir, path, ".."), { recursive: true });
    writeFileSync(join(modelDir, path), path === "visual/model.onnx" ? heavyVisualModel() : content);
  }
  return cache;
}
