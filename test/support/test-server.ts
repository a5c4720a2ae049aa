/** Starts the real service on 127.0.0.1 with a temporary cache folder and returns its URL. */
import { rmSync } from "node:fs";
import { tempDir } from "./temp.ts";
import { loadSettings, type Settings } from "../../src/config/settings.ts";
import { createService, preloadModels, type Service } from "../../src/service.ts";
import { createApp } from "../../src/http/app.ts";
import { listen } from "../../src/http/listen.ts";

export interface TestServer {
  url: string;
  service: Service;
  settings: Settings;
  cacheFolder: string;
  stop(): Promise<void>;
}

export async function startTestServer(env: Record<string, string> = {}, prepare?: (cacheFolder: string) => void): Promise<TestServer> {
  const cacheFolder = env.MACHINE_LEARNING_CACHE_FOLDER ?? tempDir();
  prepare?.(cacheFolder);
  const settings = loadSettings({
    MACHINE_LEARNING_CACHE_FOLDER: cacheFolder,
    MACHINE_LEARNING_REQUEST_THREADS: "1",
    MACHINE_LEARNING_MODEL_INTRA_OP_THREADS: "1",
    HF_ENDPOINT: "http://127.0.0.1:9", // nothing listens there: a test that downloads must say where from
    ...env,
  });
  const service = createService(settings);
  await preloadModels(service);
  const server = listen(createApp(service), settings, "127.0.0.1", 0);
  return {
    url: `http://127.0.0.1:${server.port}`,
    service,
    settings,
    cacheFolder,
    async stop() {
      await server.stop(true);
      await service.close();
      if (!env.MACHINE_LEARNING_CACHE_FOLDER) rmSync(cacheFolder, { recursive: true, force: true });
    },
  };
}

/** A multipart /predict body as the Immich server's newer client builds it by hand. */
export function handBuiltMultipart(entries: string, part: { image: Uint8Array } | { text: string }): { body: Uint8Array; contentType: string } {
  const boundary = `immich-${crypto.randomUUID()}`;
  const encoder = new TextEncoder();
  const chunks: Uint8Array[] = [encoder.encode(`--${boundary}\r\nContent-Disposition: form-data; name="entries"\r\n\r\n${entries}\r\n`)];
  if ("image" in part) {
    chunks.push(
      encoder.encode(`--${boundary}\r\nContent-Disposition: form-data; name="image"; filename="blob"\r\nContent-Type: application/octet-stream\r\n\r\n`),
    );
    chunks.push(part.image);
    chunks.push(encoder.encode("\r\n"));
  } else {
    chunks.push(encoder.encode(`--${boundary}\r\nContent-Disposition: form-data; name="text"\r\n\r\n${part.text}\r\n`));
  }
  chunks.push(encoder.encode(`--${boundary}--\r\n`));
  const body = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return { body, contentType: `multipart/form-data; boundary=${boundary}` };
}

/** POSTs /predict the older way: `fetch` + `FormData` + `Blob` (filename `blob`). */
export async function predict(
  url: string,
  entries: unknown,
  part: { image?: Uint8Array; text?: string },
  headers: Record<string, string> = {},
  signal?: AbortSignal,
): Promise<Response> {
  const form = new FormData();
  form.append("entries", typeof entries === "string" ? entries : JSON.stringify(entries));
  if (part.image) form.append("image", new Blob([part.image]), "blob");
  if (part.text !== undefined) form.append("text", part.text);
  return fetch(`${url}/predict`, { method: "POST", body: form, headers, ...(signal ? { signal } : {}) });
}
