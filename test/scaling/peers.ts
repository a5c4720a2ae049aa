/**
 * Peers for the scaling tests: real immich-ml processes on loopback sharing one stand-in CLIP
 * cache, and misbehaving peers (one that hangs, one that fails) as small servers.
 */
import { writeClipModel } from "../support/clip-cache.ts";
import { startServeProcess, type ServeProcess } from "../support/server-process.ts";
import { tempDir } from "../support/temp.ts";

export const CLIP = "ViT-B-32__openai";
export const TEXT_ENTRIES = { clip: { textual: { modelName: CLIP } } };

let sharedCache: string | undefined;

/** A cache folder holding the stand-in CLIP model, written once per test file. */
export function clipCache(): string {
  if (!sharedCache) {
    sharedCache = tempDir();
    writeClipModel(sharedCache, CLIP);
  }
  return sharedCache;
}

export function startPeers(count: number, env: Record<string, string> = {}): Promise<ServeProcess[]> {
  return Promise.all(
    Array.from({ length: count }, () => startServeProcess({ MACHINE_LEARNING_CACHE_FOLDER: clipCache(), MACHINE_LEARNING_REQUEST_THREADS: "0", ...env })),
  );
}

/** Answered /predict requests a peer counts for one task/type (its own /metrics). */
export async function answeredCount(url: string, type = "textual"): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`immich_ml_requests_total{task="clip",type="${type}",model="${CLIP}",status="200"}`));
  return line ? Number(line.split(" ").pop()) : 0;
}

export interface FakePeer {
  url: string;
  predictCalls: number;
  /** The last /predict form it received: its entries and image bytes. */
  lastForm: { entries: string; image: Uint8Array } | undefined;
  stop(): void;
}

/**
 * A peer whose /ping says pong and whose /predict never answers (until stopped), answers `status`
 * with FastAPI's 500 body, or answers the given JSON text.
 */
export function startFakePeer(predict: "hang" | number | { json: string }): FakePeer {
  const hanging: Array<() => void> = [];
  const peer: FakePeer = { url: "", predictCalls: 0, lastForm: undefined, stop: () => {} };
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch: async (request) => {
      const path = new URL(request.url).pathname;
      if (path === "/ping") return new Response("pong");
      peer.predictCalls++;
      const form = (await request.formData()) as unknown as { get(name: string): string | Blob | null };
      const image = form.get("image");
      peer.lastForm = { entries: String(form.get("entries")), image: image instanceof Blob ? new Uint8Array(await image.arrayBuffer()) : new Uint8Array() };
      if (typeof predict === "object") return new Response(predict.json, { headers: { "content-type": "application/json" } });
      if (predict === "hang") return new Promise<Response>((resolve) => hanging.push(() => resolve(new Response("late", { status: 500 }))));
      return Response.json({ detail: "Internal Server Error" }, { status: predict });
    },
  });
  peer.url = `http://127.0.0.1:${server.port}`;
  peer.stop = () => {
    for (const release of hanging) release();
    server.stop(true);
  };
  return peer;
}

/** A peer that accepts connections and never says a word, /ping included: a wedged or vanished host. */
export function startSilentPeer(): { url: string; stop(): void } {
  const listener = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  return { url: `http://127.0.0.1:${listener.port}`, stop: () => listener.stop(true) };
}

/** A port nothing listens on. */
export function closedPortUrl(): string {
  const probe = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
  const url = `http://127.0.0.1:${probe.port}`;
  probe.stop(true);
  return url;
}
