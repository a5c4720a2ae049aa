/**
 * Resident memory of a server process (its /health `rssBytes`), against the size of the model
 * files it holds: idle, with CLIP visual + textual, a face detector + recogniser and an OCR
 * detector + recogniser loaded (right after their requests, once the service has released what it
 * holds between requests, and once the shared onnxruntime arena has handed back what their runs
 * left), and after MODEL_TTL evicted them all.
 */
import { statSync } from "node:fs";
import { startServerProcess, type LoadRequest } from "./lib.ts";
import { postRequest } from "./measure.ts";

export interface MemoryResult {
  /** Models resident when `loadedMb` was read. */
  loadedModels: number;
  idleMb: number;
  /** Right after the requests, before the idle release: what the models' arenas hold in use. */
  busyMb: number;
  /** 2.5 s after the requests: the service's idle release done (1 s). */
  loadedMb: number;
  /** 12 s after the requests: the shared arena trimmed too (10 s, service.ts `ARENA_TRIM_SECONDS`). */
  trimmedMb: number;
  evictedMb: number;
  modelMb: number;
  ttlSeconds: number;
}

const MB = 1024 * 1024;
const TTL_SECONDS = 15;

async function rss(url: string): Promise<{ rssBytes: number; loadedModels: unknown[] }> {
  return (await fetch(`${url}/health`)).json() as Promise<{ rssBytes: number; loadedModels: unknown[] }>;
}

/** `requests` must load the models whose files are `modelFiles`. */
export async function measureMemory(cacheFolder: string, requests: LoadRequest[], modelFiles: string[]): Promise<MemoryResult> {
  const server = await startServerProcess({
    MACHINE_LEARNING_CACHE_FOLDER: cacheFolder,
    MACHINE_LEARNING_MODEL_TTL: String(TTL_SECONDS),
    MACHINE_LEARNING_MODEL_TTL_POLL_S: "1",
    IMMICH_LOG_LEVEL: "warn",
  });
  try {
    await Bun.sleep(2000);
    const idle = await rss(server.url);
    for (const request of requests) await postRequest(server.url, request);
    const busy = await rss(server.url);
    const requestsEnded = performance.now();
    // Past the service's release of freed memory, 1 s after the last request.
    await Bun.sleep(2500);
    const loaded = await rss(server.url);
    // Past the arena's trim, 10 s after the last request (and before the TTL's eviction).
    await Bun.sleep(12_000 - (performance.now() - requestsEnded));
    const trimmed = await rss(server.url);
    const deadline = performance.now() + (TTL_SECONDS + 30) * 1000;
    while ((await rss(server.url)).loadedModels.length > 0 && performance.now() < deadline) await Bun.sleep(500);
    await Bun.sleep(2000);
    const evicted = await rss(server.url);
    return {
      loadedModels: loaded.loadedModels.length,
      idleMb: idle.rssBytes / MB,
      busyMb: busy.rssBytes / MB,
      loadedMb: loaded.rssBytes / MB,
      trimmedMb: trimmed.rssBytes / MB,
      evictedMb: evicted.rssBytes / MB,
      modelMb: modelFiles.reduce((sum, file) => sum + statSync(file).size, 0) / MB,
      ttlSeconds: TTL_SECONDS,
    };
  } finally {
    await server.stop();
  }
}
