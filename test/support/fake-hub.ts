/**
 * A local HTTP server on 127.0.0.1 that answers the Hugging Face Hub endpoints our downloader
 * uses (`/api/models/<repo>/tree/<rev>` and `/<repo>/resolve/<rev>/<path>` with Range requests),
 * serving repositories held in memory. Lets tests run the real download code with no network.
 */
import { createHash } from "node:crypto";

export type RepoFiles = Record<string, Uint8Array | string>;

export interface FakeHub {
  url: string;
  /** Requests per path, e.g. `resolve:immich-app/ViT-B-32__openai/visual/model.onnx`. */
  hits: Map<string, number>;
  /**
   * Makes the next `times` downloads of `repoPath` stop after `bytes` bytes (a dropped connection;
   * HTTP clients may retry once on their own, so tests cut more than one response).
   */
  truncate(repoPath: string, bytes: number, times?: number): void;
  setRepo(repo: string, files: RepoFiles): void;
  stop(): void;
}

const toBytes = (content: Uint8Array | string) => (typeof content === "string" ? new TextEncoder().encode(content) : content);

export function startFakeHub(repos: Record<string, RepoFiles> = {}): FakeHub {
  const store = new Map<string, Map<string, Uint8Array>>();
  const hits = new Map<string, number>();
  const truncations = new Map<string, { bytes: number; times: number }>();
  const setRepo = (repo: string, files: RepoFiles) => store.set(repo, new Map(Object.entries(files).map(([path, content]) => [path, toBytes(content)])));
  for (const [repo, files] of Object.entries(repos)) setRepo(repo, files);
  const count = (key: string) => hits.set(key, (hits.get(key) ?? 0) + 1);

  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(request) {
      const url = new URL(request.url);
      const tree = url.pathname.match(/^\/api\/models\/([^/]+\/[^/]+)\/tree\/([^/]+)\/?$/);
      if (tree) {
        const repo = store.get(tree[1]!);
        count(`tree:${tree[1]}`);
        if (!repo) return Response.json({ error: "Repository not found" }, { status: 404, headers: { "X-Error-Code": "RepoNotFound" } });
        const listing = [...repo.entries()].map(([path, bytes]) => {
          const oid = createHash("sha256").update(bytes).digest("hex");
          const lfs = path.endsWith(".onnx") ? { lfs: { oid, size: bytes.byteLength, pointerSize: 134 } } : {};
          return { type: "file", path, size: bytes.byteLength, oid: oid.slice(0, 40), ...lfs };
        });
        return Response.json(listing);
      }
      const resolve = url.pathname.match(/^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/);
      if (resolve) {
        const [, repoName, , path] = resolve as unknown as [string, string, string, string];
        count(`resolve:${repoName}/${path}`);
        const bytes = store.get(repoName)?.get(decodeURIComponent(path));
        if (!bytes) return new Response("Entry not found", { status: 404, headers: { "X-Error-Code": "EntryNotFound" } });
        const etag = `"${createHash("sha256").update(bytes).digest("hex")}"`;
        const range = request.headers.get("range")?.match(/bytes=(\d+)-(\d*)/);
        let start = 0;
        let end = bytes.byteLength - 1;
        if (range) {
          start = Number(range[1]);
          if (range[2]) end = Math.min(end, Number(range[2]));
        }
        let body = bytes.subarray(start, end + 1);
        const key = `${repoName}/${path}`;
        const cut = truncations.get(key);
        if (cut !== undefined && body.byteLength > 1) {
          if (--cut.times <= 0) truncations.delete(key);
          // Promise the whole length but deliver less, then end: a dropped connection.
          body = body.subarray(0, cut.bytes);
          const stream = new ReadableStream({
            start(controller) {
              controller.enqueue(body);
              controller.error(new Error("connection dropped"));
            },
          });
          return new Response(stream, { status: range ? 206 : 200, headers: { etag } });
        }
        const headers: Record<string, string> = { etag, "accept-ranges": "bytes", "content-length": String(body.byteLength) };
        if (range) headers["content-range"] = `bytes ${start}-${end}/${bytes.byteLength}`;
        return new Response(body, { status: range ? 206 : 200, headers });
      }
      return new Response("not found", { status: 404 });
    },
  });
  return {
    url: `http://127.0.0.1:${server.port}`,
    hits,
    truncate: (repoPath, bytes, times = 3) => truncations.set(repoPath, { bytes, times }),
    setRepo,
    stop: () => server.stop(true),
  };
}
