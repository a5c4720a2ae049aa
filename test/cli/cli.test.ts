/** The command line, run from source as a user would: `bun src/main.ts <command>`. */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "../support/fixtures.ts";
import { tempDir } from "../support/temp.ts";
import { writeClipModel, clipRepoFiles } from "../support/clip-cache.ts";
import { startFakeHub, type FakeHub } from "../support/fake-hub.ts";

// Each test spawns the CLI as its own process (Bun start-up, a download from a local hub).
setDefaultTimeout(10_000);

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Spawned asynchronously: the fake Hub answering the child lives on this process's event loop. */
async function cli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const child = Bun.spawn([process.execPath, join(repoRoot, "src/main.ts"), ...args], {
    cwd: repoRoot,
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: tempDir("immich-ml-home-"),
      ORT_DISABLE_TELEMETRY: "1",
      MACHINE_LEARNING_CACHE_FOLDER: tempDir(),
      HF_ENDPOINT: "http://127.0.0.1:9", // nothing listens there: a test that downloads says where from
      ...env,
    },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return { code, stdout, stderr };
}

const lines = (text: string) => text.split("\n").filter((line) => line.length > 0);

describe("immich-ml command line", () => {
  test("--version prints the package version", async () => {
    const { version } = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as { version: string };
    const run = await cli(["--version"]);
    expect(run.code).toBe(0);
    expect(run.stdout.trim()).toBe(version);
  });

  test("--help lists every command", async () => {
    const run = await cli(["--help"]);
    expect(run.code).toBe(0);
    for (const word of ["Usage:", "serve", "download", "models", "selftest", "--task", "--type"]) expect(run.stdout).toContain(word);
  });

  test("an unknown command is one line on stderr and exit status 2", async () => {
    const run = await cli(["frobnicate"]);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe("");
    expect(lines(run.stderr)).toEqual(["immich-ml: unknown command 'frobnicate' (see immich-ml --help)"]);
  });

  test("--cache belongs to download: elsewhere it is refused", async () => {
    const run = await cli(["serve", "--cache", "/tmp/x"]);
    expect(run.code).toBe(2);
    expect(lines(run.stderr)).toEqual(["immich-ml: --task, --type and --cache apply to download only (see immich-ml --help)"]);
  });

  test("an unknown option is refused the same way", async () => {
    const run = await cli(["models", "--bogus"]);
    expect(run.code).toBe(2);
    expect(lines(run.stderr)).toHaveLength(1);
    expect(run.stderr).toContain("--bogus");
  });

  test("models lists names with embedding sizes and marks what is cached", async () => {
    const cache = tempDir();
    writeClipModel(cache, "ViT-B-32__openai");
    const run = await cli(["models"], { MACHINE_LEARNING_CACHE_FOLDER: cache });
    expect(run.code).toBe(0);
    const out = lines(run.stdout);
    expect(out).toContain(`Cache folder: ${cache}`);
    expect(out.find((line) => /^\s+ViT-B-32__openai\s/.test(line))).toMatch(/^\s+ViT-B-32__openai\s+512 {2}cached: visual, textual \(\d+\.\d (kB|MB)\)$/);
    expect(out.find((line) => /^\s+RN50__openai\s/.test(line))).toMatch(/^\s+RN50__openai\s+1024$/);
    expect(out.find((line) => /^\s+buffalo_l\s/.test(line))).toMatch(/^\s+buffalo_l\s+512$/);
    expect(out).toContain("ocr:");
  });

  test("selftest passes from source", async () => {
    const run = await cli(["selftest"]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const out = lines(run.stdout);
    expect(out).toHaveLength(4);
    for (const line of out) expect(line).toStartWith("OK ");
  });
});

describe("immich-ml download", () => {
  const REPO = "immich-app/ViT-B-32__openai";
  let hub: FakeHub;
  beforeAll(() => {
    hub = startFakeHub({ [REPO]: clipRepoFiles() });
  });
  afterAll(() => hub.stop());

  test("fetches every type of the model's task into upstream's layout, then finds it cached", async () => {
    const cache = tempDir();
    const env = { MACHINE_LEARNING_CACHE_FOLDER: cache, HF_ENDPOINT: hub.url, IMMICH_LOG_LEVEL: "warn" };
    const run = await cli(["download", "ViT-B-32::openai"], env);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const dir = join(cache, "clip", "ViT-B-32__openai");
    for (const file of ["config.json", "visual/model.onnx", "visual/preprocess_cfg.json", "textual/model.onnx", "textual/tokenizer.json"]) {
      expect(existsSync(join(dir, file))).toBe(true);
    }
    expect(existsSync(join(dir, "visual/model.armnn"))).toBe(false);
    const out = lines(run.stdout);
    expect(out).toHaveLength(2);
    expect(out[0]).toMatch(new RegExp(`^clip/ViT-B-32__openai visual: \\d+\\.\\d (kB|MB) in \\d+\\.\\d s \\(.+/s\\) to ${dir}$`));
    expect(out[1]).toStartWith("clip/ViT-B-32__openai textual: ");

    const again = await cli(["download", "ViT-B-32__openai", "--type", "textual"], env);
    expect(again.code).toBe(0);
    expect(lines(again.stdout)).toEqual([`clip/ViT-B-32__openai textual: already cached in ${dir}`]);
  });

  test("--type fetches one type only", async () => {
    const cache = tempDir();
    const run = await cli(["download", "ViT-B-32__openai", "--task", "clip", "--type", "textual"], {
      MACHINE_LEARNING_CACHE_FOLDER: cache,
      HF_ENDPOINT: hub.url,
      IMMICH_LOG_LEVEL: "warn",
    });
    expect(run.code).toBe(0);
    expect(existsSync(join(cache, "clip/ViT-B-32__openai/textual/model.onnx"))).toBe(true);
    expect(existsSync(join(cache, "clip/ViT-B-32__openai/visual"))).toBe(false);
  });

  test("names, tasks and types are checked before anything downloads", async () => {
    const cache = tempDir();
    const env = { MACHINE_LEARNING_CACHE_FOLDER: cache, HF_ENDPOINT: hub.url };
    const cases: Array<[string[], string]> = [
      [["download", "ViT-B-32__openai", "no-such-model"], "unknown model 'no-such-model'"],
      [["download", "buffalo_l", "--task", "clip"], "'buffalo_l' is a facial-recognition model, not clip"],
      [["download", "ViT-B-32__openai", "--type", "detection"], "'ViT-B-32__openai' has no type 'detection'"],
      [["download", "ViT-B-32__openai", "--task", "faces"], "unknown task 'faces'"],
      [["download"], "download needs at least one model name"],
    ];
    for (const [args, message] of cases) {
      const run = await cli(args, env);
      expect(run.code).toBe(2);
      expect(lines(run.stderr)).toHaveLength(1);
      expect(run.stderr).toContain(message);
    }
    expect(existsSync(join(cache, "clip"))).toBe(false);
  });

  test("OCR models come from the RapidOCR mirror, as the service fetches them, and are checked against RapidOCR's SHA-256", async () => {
    const requested: string[] = [];
    const mirror = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: (request) => {
        requested.push(new URL(request.url).pathname);
        return new Response(new Uint8Array(4096).fill(3)); // not the published model: its digest differs
      },
    });
    try {
      const cache = tempDir();
      const run = await cli(["download", "EL__PP-OCRv5_mobile", "--type", "recognition"], {
        MACHINE_LEARNING_CACHE_FOLDER: cache,
        MACHINE_LEARNING_OCR_MODEL_URL: `http://127.0.0.1:${mirror.port}`,
        IMMICH_LOG_LEVEL: "error",
      });
      expect(requested).toEqual(["/onnx/PP-OCRv5/rec/el_PP-OCRv5_rec_mobile_infer.onnx"]);
      expect(run.code).toBe(1);
      expect(lines(run.stderr)).toHaveLength(1);
      expect(run.stderr).toContain("expected b4368bccd557123c702b7549fee6cd1e94b581337d1c9b65310f109131542b7f");
      expect(existsSync(join(cache, "ocr/EL__PP-OCRv5_mobile/recognition/model.onnx"))).toBe(false);
    } finally {
      mirror.stop(true);
    }
  });

  test("a model the Hub does not have fails with one line and exit status 1", async () => {
    const run = await cli(["download", "buffalo_l", "--type", "detection"], { HF_ENDPOINT: hub.url, IMMICH_LOG_LEVEL: "critical" });
    expect(run.code).toBe(1);
    expect(lines(run.stderr)).toHaveLength(1);
    expect(run.stderr).toContain("Model 'buffalo_l' is not available");
  });
});
