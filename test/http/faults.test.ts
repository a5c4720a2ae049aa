/**
 * Faults outside the request: a full disk and a read-only cache give clear errors and leave
 * nothing behind; an onnxruntime failure inside one inference fails that request only; SIGTERM
 * stops accepting, lets in-flight predictions finish, then exits 0.
 *
 * The disk tests mount small tmpfs file systems (root and CAP_SYS_ADMIN needed; tests run as root,
 * so `chmod 0555` would not stop them). Where mounting is impossible they are skipped with a
 * message; model-lifecycle.test.ts still covers an unwritable cache path without privileges.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createConnection } from "node:net";
import { join } from "node:path";
import { predict, startTestServer } from "../support/test-server.ts";
import { clipRepoFiles, writeClipModel } from "../support/clip-cache.ts";
import { startFakeHub, type FakeHub } from "../support/fake-hub.ts";
import { heavyVisualModel, runtimeFailingTextualModel } from "../support/onnx-builder.ts";
import { tempDir } from "../support/temp.ts";
import { startServerProcess } from "../../bench/lib.ts";
import { waitUntil } from "../support/wait-until.ts";

// Spawned servers are shut down and killed here; the SIGTERM test waits up to 15 s for its exit.
setDefaultTimeout(20_000);

const MODEL = "ViT-B-32__openai";
const TEXTUAL = { clip: { textual: { modelName: MODEL } } };
const VISUAL = { clip: { visual: { modelName: MODEL } } };

/** Mounts a tmpfs on a fresh folder, or returns undefined where this process may not mount. */
function mountTmpfs(options: string): string | undefined {
  const dir = tempDir("immich-ml-tmpfs-");
  const result = spawnSync("mount", ["-t", "tmpfs", "-o", options, "tmpfs", dir]);
  if (result.status === 0) return dir;
  rmSync(dir, { recursive: true, force: true });
  return undefined;
}

function unmount(dir: string): void {
  spawnSync("umount", [dir]);
  rmSync(dir, { recursive: true, force: true });
}

const canMount = (() => {
  const probe = mountTmpfs("size=64k");
  if (probe) unmount(probe);
  else console.warn("[faults] cannot mount tmpfs here (needs root/CAP_SYS_ADMIN): disk-full and read-only cache tests are skipped");
  return probe !== undefined;
})();

function listTree(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name));
}

describe("cache folder faults", () => {
  let hub: FakeHub;
  beforeAll(() => {
    // A visual model far bigger than the 8 MiB disk below; the text files fit.
    hub = startFakeHub({ [`immich-app/${MODEL}`]: { ...clipRepoFiles(), "visual/model.onnx": new Uint8Array(16 * 1024 * 1024).fill(7) } });
  });
  afterAll(() => hub.stop());

  test.skipIf(!canMount)("a full disk: 503 naming the model and the cause, no partial file left, smaller models still download", async () => {
    const disk = mountTmpfs("size=8m")!;
    const server = await startTestServer({ MACHINE_LEARNING_CACHE_FOLDER: disk, HF_ENDPOINT: hub.url });
    try {
      const res = await predict(server.url, VISUAL, { image: await tinyJpeg() });
      expect(res.status).toBe(503);
      const detail = ((await res.json()) as { detail: string }).detail;
      expect(detail).toContain(MODEL);
      expect(detail).toContain("no space left on device");
      expect(listTree(disk).filter((path) => path.endsWith(".partial"))).toEqual([]);
      // The space the failed download took is free again: the text model fits and is served.
      expect((await predict(server.url, TEXTUAL, { text: "a photo of a cat" })).status).toBe(200);
    } finally {
      await server.stop();
      unmount(disk);
    }
  });

  test.skipIf(!canMount)("a read-only cache: 503 naming the model and the cause, and the server keeps serving", async () => {
    const readOnly = mountTmpfs("ro,size=1m")!;
    const server = await startTestServer({ MACHINE_LEARNING_CACHE_FOLDER: readOnly, HF_ENDPOINT: hub.url });
    try {
      const res = await predict(server.url, TEXTUAL, { text: "x" });
      expect(res.status).toBe(503);
      const detail = ((await res.json()) as { detail: string }).detail;
      expect(detail).toContain(MODEL);
      expect(detail).toContain("read-only file system");
      expect((await fetch(`${server.url}/ping`)).status).toBe(200);
    } finally {
      await server.stop();
      unmount(readOnly);
    }
  });
});

async function tinyJpeg(): Promise<Uint8Array> {
  const sharp: typeof import("sharp").default = require("sharp");
  return new Uint8Array(
    await sharp({ create: { width: 64, height: 48, channels: 3, background: { r: 1, g: 2, b: 3 } } })
      .jpeg()
      .toBuffer(),
  );
}

test("an onnxruntime error inside one inference fails that request only", async () => {
  const BROKEN = "ViT-B-16__openai";
  const server = await startTestServer({ HF_HUB_OFFLINE: "1" }, (cache) => {
    writeClipModel(cache, MODEL);
    writeFileSync(join(writeClipModel(cache, BROKEN), "textual", "model.onnx"), runtimeFailingTextualModel());
  });
  try {
    const failed = await predict(server.url, { clip: { textual: { modelName: BROKEN } } }, { text: "a photo of a cat" });
    expect(failed.status).toBe(500);
    expect(await failed.json()).toEqual({ detail: "Internal Server Error" });
    // The model loaded fine and stays loaded: a run failure is not a load failure, the cache is kept.
    expect(server.service.cache.loaded().map((m) => m.name)).toContain(BROKEN);
    expect(existsSync(join(server.cacheFolder, "clip", BROKEN, "textual", "model.onnx"))).toBe(true);
    // Other models, and requests after the failure, are served as usual.
    const [other, again] = await Promise.all([
      predict(server.url, TEXTUAL, { text: "a photo of a cat" }),
      predict(server.url, { clip: { textual: { modelName: BROKEN } } }, { text: "a photo of a dog" }),
    ]);
    expect(other.status).toBe(200);
    expect(JSON.parse(((await other.json()) as { clip: string }).clip)).toHaveLength(512);
    expect(again.status).toBe(500);
  } finally {
    await server.stop();
  }
});

/** Resolves true if a new TCP connection to the port is refused. */
function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(false);
    });
    socket.once("error", (error: NodeJS.ErrnoException) => resolve(error.code === "ECONNREFUSED"));
  });
}

test("SIGTERM: stops accepting, finishes in-flight predictions, exits 0", async () => {
  const cache = tempDir();
  writeFileSync(join(writeClipModel(cache, MODEL), "visual", "model.onnx"), heavyVisualModel({ layers: 12 }));
  const server = await startServerProcess({
    MACHINE_LEARNING_CACHE_FOLDER: cache,
    MACHINE_LEARNING_PRELOAD__CLIP__VISUAL: MODEL,
    MACHINE_LEARNING_MODEL_INTRA_OP_THREADS: "1",
    HF_HUB_OFFLINE: "1",
    IMMICH_LOG_LEVEL: "warn",
  });
  const port = Number(new URL(server.url).port);
  try {
    const image = await tinyJpeg();
    const slow = Array.from({ length: 3 }, () => predict(server.url, VISUAL, { image }));
    const settled: Array<number | undefined> = [undefined, undefined, undefined];
    slow.forEach(
      (request, i) =>
        void request.then(
          (res) => (settled[i] = res.status),
          () => (settled[i] = -1),
        ),
    );
    await waitUntil(async () => {
      const health = (await (await fetch(`${server.url}/health`)).json()) as { inFlight: number; queued: number };
      return health.inFlight + health.queued === 3;
    }, "the three predictions to be admitted");
    process.kill(server.pid, "SIGTERM");
    await waitUntil(() => refused(port), "the listener to close");
    // Refused while predictions were still running…
    expect(settled.filter((status) => status === undefined).length).toBeGreaterThan(0);
    // …which then complete normally.
    const statuses = await Promise.all(slow.map(async (request) => (await request).status));
    expect(statuses).toEqual([200, 200, 200]);
    const code = await Promise.race([server.exited, Bun.sleep(15_000).then(() => "still running")]);
    expect(code).toBe(0);
  } finally {
    // Only if an assertion failed before the process ended.
    if (!(await Promise.race([server.exited.then(() => true), Bun.sleep(0).then(() => false)]))) process.kill(server.pid, "SIGKILL");
    rmSync(cache, { recursive: true, force: true });
  }
});
