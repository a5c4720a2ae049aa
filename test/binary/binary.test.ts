/**
 * The linux-x64 executable, alone: copied into an empty folder and run with an empty environment
 * (a fresh HOME, PATH=/usr/bin:/bin), with no node_modules, Bun or Node in reach. Where mount
 * namespaces are allowed, the repository itself is hidden under an empty tmpfs, so that a build
 * machine path baked into the bundle fails here as it would on a user's machine. Skipped unless
 * IMMICH_ML_TEST_BINARY=1 (CI runs it as its own step after `npm run build`); builds
 * dist/immich-ml-linux-x64 first when it is missing or older than the sources.
 */
import { beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fixturePath, haveFixtures, repoRoot } from "../support/fixtures.ts";
import { tempDir } from "../support/temp.ts";
import { writeClipModel } from "../support/clip-cache.ts";
import { waitUntil } from "../support/wait-until.ts";

// The executable's first start extracts its native libraries and OCR reads a photo: seconds on
// 2 cores, as waitForPong allows.
setDefaultTimeout(30_000);

const enabled = process.env.IMMICH_ML_TEST_BINARY === "1" && process.platform === "linux" && process.arch === "x64";
const BUILT = join(repoRoot, "dist", "immich-ml-linux-x64");

function newestSource(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(0, ...readdirSync(path).map((name) => newestSource(join(path, name))));
}

async function ensureBuilt(): Promise<void> {
  const sources = Math.max(
    newestSource(join(repoRoot, "src")),
    newestSource(join(repoRoot, "scripts", "build.ts")),
    newestSource(join(repoRoot, "package.json")),
  );
  if (existsSync(BUILT) && statSync(BUILT).mtimeMs > sources) return;
  const build = Bun.spawn([process.execPath, join(repoRoot, "scripts", "build.ts"), "linux-x64"], { cwd: repoRoot, stdout: "inherit", stderr: "inherit" });
  if ((await build.exited) !== 0) throw new Error("bun scripts/build.ts linux-x64 failed");
}

let binary: string;
let home: string;
let hideRepository: string[] = [];

/** `unshare` arguments that run a command with the repository hidden, if this machine allows it. */
function repositoryHider(): string[] {
  const unshare = Bun.which("unshare");
  if (!unshare) return [];
  const script = 'mount -t tmpfs tmpfs "$0" && exec "$@"';
  for (const flags of [["--mount"], ["--user", "--map-root-user", "--mount"]]) {
    const command = [unshare, ...flags, "--propagation", "private", "/bin/sh", "-c", script, repoRoot];
    if (Bun.spawnSync([...command, "/bin/true"]).success) return command;
  }
  return [];
}

/** Runs the copied executable with nothing but HOME and PATH (and `env`) in its environment. */
function spawnBinary(args: string[], env: Record<string, string> = {}) {
  return Bun.spawn([...hideRepository, binary, ...args], {
    cwd: join(binary, ".."),
    env: { HOME: home, PATH: "/usr/bin:/bin", ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
}

async function freePort(): Promise<number> {
  const probe = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
  const port = probe.port!;
  await probe.stop(true);
  return port;
}

async function waitForPong(url: string, child: { exitCode: number | null }): Promise<void> {
  await waitUntil(
    async () => {
      if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
      // Refused until it listens.
      return fetch(`${url}/ping`).then(
        async (response) => (await response.text()) === "pong",
        () => false,
      );
    },
    "the executable to answer /ping",
    30_000,
  );
}

(enabled ? describe : describe.skip)("single executable (linux-x64)", () => {
  beforeAll(async () => {
    await ensureBuilt();
    // Nothing above the copy may offer packages: the binary must carry everything itself.
    expect(existsSync(join(tmpdir(), "node_modules"))).toBe(false);
    binary = join(tempDir("immich-ml-bin-"), "immich-ml");
    copyFileSync(BUILT, binary);
    chmodSync(binary, 0o755);
    home = tempDir("immich-ml-home-");
    hideRepository = repositoryHider();
    if (hideRepository.length === 0) console.warn("[binary] no mount namespace here: the repository stays visible to the executable");
  }, 300_000); // building the executable when it is missing or stale takes minutes

  test("selftest passes, extracting the native libraries under HOME, with no telemetry written", async () => {
    const child = spawnBinary(["selftest"]);
    const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
    expect(stderr).toBe("");
    expect(code).toBe(0);
    const lines = stdout.trim().split("\n");
    expect(lines).toHaveLength(4);
    for (const line of lines) expect(line).toStartWith("OK ");
    expect(lines[0]).toContain(join(home, ".cache", "immich-ml", "native", "linux-x64-"));
    expect(existsSync(join(home, ".cache", "Microsoft"))).toBe(false);
    // Data files (tesseract's) wait for their first use.
    const native = join(home, ".cache", "immich-ml", "native");
    for (const dir of readdirSync(native)) expect(existsSync(join(native, dir, "tessdata"))).toBe(false);
  });

  test("IMMICH_ML_NATIVE_DIR, else XDG_CACHE_HOME, picks the extraction folder", async () => {
    for (const [variable, folder] of [
      ["IMMICH_ML_NATIVE_DIR", ""],
      ["XDG_CACHE_HOME", "immich-ml/native"],
    ] as const) {
      const root = tempDir();
      const child = spawnBinary(["selftest"], { [variable]: root });
      const [stdout, code] = await Promise.all([new Response(child.stdout).text(), child.exited]);
      expect(code).toBe(0);
      expect(stdout).toContain(`native libraries: ${join(root, folder, "linux-x64-")}`);
    }
  });

  test("the folder of an older release not started for a day is removed; a recent one is kept", async () => {
    const root = tempDir();
    const aged = new Date(Date.now() - 2 * 24 * 60 * 60 * 1000);
    for (const name of ["linux-x64-0ldre1ease", "linux-x64-rec3ntre1"]) {
      mkdirSync(join(root, name));
      writeFileSync(join(root, name, "libonnxruntime.so.1"), "from an older release");
      writeFileSync(join(root, name, ".immich-ml-native"), "");
    }
    utimesSync(join(root, "linux-x64-0ldre1ease", ".immich-ml-native"), aged, aged);
    const child = spawnBinary(["selftest"], { IMMICH_ML_NATIVE_DIR: root });
    expect(await child.exited).toBe(0);
    expect([existsSync(join(root, "linux-x64-0ldre1ease")), existsSync(join(root, "linux-x64-rec3ntre1"))]).toEqual([false, true]);
  });

  test("a native folder that cannot be written is one line naming IMMICH_ML_NATIVE_DIR", async () => {
    const notAFolder = join(tempDir(), "file");
    writeFileSync(notAFolder, "");
    const child = spawnBinary(["selftest"], { IMMICH_ML_NATIVE_DIR: join(notAFolder, "native") });
    const [stderr, code] = await Promise.all([new Response(child.stderr).text(), child.exited]);
    expect(code).toBe(1);
    expect(stderr.trim().split("\n")).toHaveLength(1);
    expect(stderr).toContain("set IMMICH_ML_NATIVE_DIR to a writable folder");
  });

  test("serves /ping and a CLIP text query from a prepared cache", async () => {
    const cache = tempDir();
    writeClipModel(cache, "ViT-B-32__openai");
    const port = await freePort();
    const child = spawnBinary([], {
      IMMICH_HOST: "127.0.0.1",
      IMMICH_PORT: String(port),
      MACHINE_LEARNING_CACHE_FOLDER: cache,
      MACHINE_LEARNING_REQUEST_THREADS: "1",
      HF_HUB_OFFLINE: "1",
    });
    const url = `http://127.0.0.1:${port}`;
    try {
      await waitForPong(url, child);
      const form = new FormData();
      form.append("entries", JSON.stringify({ clip: { textual: { modelName: "ViT-B-32__openai" } } }));
      form.append("text", "a photo of a cat");
      const response = await fetch(`${url}/predict`, { method: "POST", body: form });
      expect(response.status).toBe(200);
      const body = (await response.json()) as { clip: string };
      const embedding = JSON.parse(body.clip) as number[];
      expect(embedding).toHaveLength(512);
      for (const value of embedding) expect(Number.isFinite(value)).toBe(true);
      // Swagger UI is embedded: /docs works with no node_modules and no CDN.
      const bundle = await fetch(`${url}/docs/swagger-ui-bundle.js`);
      expect(bundle.status).toBe(200);
      expect(await bundle.text()).toBe(readFileSync(join(repoRoot, "node_modules/swagger-ui-dist/swagger-ui-bundle.js"), "utf8"));
      expect((await fetch(`${url}/docs/swagger-ui.css`)).status).toBe(200);
      expect((await fetch(`${url}/openapi.json`)).status).toBe(200);
    } finally {
      child.kill("SIGTERM");
    }
    expect(await child.exited).toBe(0);
  });

  if (!haveFixtures) console.warn("[fixtures] absent: the executable's Tesseract test is skipped");
  test.skipIf(!haveFixtures)("reads the fixture parking sign with the embedded Tesseract, offline", async () => {
    const port = await freePort();
    const child = spawnBinary([], { IMMICH_HOST: "127.0.0.1", IMMICH_PORT: String(port), MACHINE_LEARNING_CACHE_FOLDER: tempDir(), HF_HUB_OFFLINE: "1" });
    const url = `http://127.0.0.1:${port}`;
    try {
      await waitForPong(url, child);
      const form = new FormData();
      const entry = { modelName: "tesseract", options: { minScore: 0.5 } };
      form.append("entries", JSON.stringify({ ocr: { detection: entry, recognition: entry } }));
      form.append("image", new Blob([readFileSync(fixturePath("images", "scenetext01.jpg"))]));
      const response = await fetch(`${url}/predict`, { method: "POST", body: form });
      expect(response.status).toBe(200);
      const body = (await response.json()) as { ocr: { text: string[] } };
      expect(body.ocr.text).toEqual(expect.arrayContaining(["DOUBLE", "PARKING", "PROHIBITED"]));
    } finally {
      child.kill("SIGTERM");
    }
    expect(await child.exited).toBe(0);
  });
});
