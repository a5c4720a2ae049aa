/**
 * Pre-processing kernels before and after: each kernel of a baseline commit (extracted with
 * `git archive` into a temporary folder and imported from there) against the working tree's, on
 * the fixture photos at the sizes the service sees (the 1440 px previews the Immich server sends,
 * and messi5.jpg as it is). Old and new run interleaved in the same process, so a busy machine
 * slows both alike; the figure is the median of the per-round ratios (old time / new time of the
 * same round), which holds up better than either median when other processes come and go. Each
 * pair of outputs is also compared byte for byte: a faster kernel that changes a value shows.
 *
 * A worker thread that has just started runs a kernel in the JIT's lower tiers, several times
 * slower than once it is compiled; so each kernel's first call is also timed, each in a fresh
 * process of its own (`--first-call`), old and new in alternation.
 *
 * A last table times the resizes alone with each of their two backends (the JavaScript loops and
 * the WebAssembly SIMD ones), interleaved the same way.
 *
 *   ./node_modules/.bin/bun bench/kernels.ts [--rounds 15] [--first-call-rounds 3] [--baseline <commit>]
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { resizeCvLinear } from "../src/imaging/cv-resize.ts";
import { type PilFilter, resizePilRows } from "../src/imaging/pil-resample.ts";
import type { ResampleBackend } from "../src/imaging/wasm/resample-module.ts";
import type { RgbImage } from "../src/imaging/rgb-image.ts";
import { detectionSize } from "../src/tasks/ocr/det-preprocess.ts";
import { fixture, repoRoot, requireFixtures } from "./fixtures.ts";
import { argNumber, argText, percentile } from "./lib.ts";
import { fixturePreview } from "./photos.ts";

// sharp must be loaded with require() (see src/pipeline/decode-image.ts).
const sharp: typeof import("sharp").default = require("sharp");

/** The last commit before the fixed-point rewrite of the kernels. */
const DEFAULT_BASELINE = "3b8618955393ce6e5255b03094256f3c66078974";
const baseline = argText("--baseline") ?? DEFAULT_BASELINE;
const rounds = argNumber("--rounds", 15);
const firstCallRounds = argNumber("--first-call-rounds", 3);
const WARM_UP_CALLS = 10;

requireFixtures();

async function decode(bytes: Uint8Array | Buffer): Promise<RgbImage> {
  const { data, info } = await sharp(bytes, { autoOrient: false }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data: new Uint8Array(data) };
}

/** The kernel modules of a source tree (`src` of the working tree or of the extracted baseline). */
async function kernelModules(srcDir: string) {
  return {
    faces: await import(join(srcDir, "tasks/facial-recognition/kernels.ts")),
    clip: await import(join(srcDir, "tasks/clip/kernels.ts")),
    ocr: await import(join(srcDir, "tasks/ocr/kernels.ts")),
    dbPostprocess: (await import(join(srcDir, "tasks/ocr/db-postprocess.ts"))).dbPostprocess,
    ...(await poolHooks(srcDir)),
  };
}

/**
 * What the service's tensor pool (src/runtime/tensor-pool.ts) does around a kernel, for a tree
 * that has one (the baseline has nothing to do):
 * - `settle`: once a run has read a kernel's result, its input tensor is recycled, so that the next
 *   call writes into memory already mapped, as in the service;
 * - `forgetCanvas`: makes the next face letterbox find no canvas in the tensor it reuses, as for a
 *   photo of a shape the pool has not seen (`pooledCanvasTensor`): the rounds cycle one free
 *   tensor of that length, and handing it out to someone else clears its canvas.
 */
async function poolHooks(srcDir: string): Promise<{ settle: (result: unknown) => void; forgetCanvas: (length: number) => void }> {
  const poolPath = join(srcDir, "runtime/tensor-pool.ts");
  if (!existsSync(poolPath)) return { settle: () => {}, forgetCanvas: () => {} };
  const { pooledFloat32, recycleTensor } = await import(poolPath);
  return {
    settle: (result) => {
      // Some kernels return the tensor itself (CLIP's input, the face crops), others an object holding it.
      const tensor = result instanceof Float32Array ? result : (result as { tensor?: unknown } | null)?.tensor;
      if (tensor instanceof Float32Array) recycleTensor(tensor);
    },
    forgetCanvas: (length) => recycleTensor(pooledFloat32(length)),
  };
}
type Modules = Awaited<ReturnType<typeof kernelModules>>;

const child = process.argv.indexOf("--first-call");
if (child >= 0) {
  // Child process: time the first call of one case in one source tree, print the CPU ms.
  const [caseIndex, srcDir] = [Number(process.argv[child + 1]), process.argv[child + 2]!];
  const modules = await kernelModules(srcDir);
  const c = (await benchCases())[caseIndex]!;
  console.log(timed(() => c.call(modules)));
} else {
  const extracted = mkdtempSync(join(tmpdir(), "immich-ml-kernels-"));
  try {
    execFileSync("sh", ["-c", `git -C "${repoRoot}" archive "${baseline}" src | tar -x -C "${extracted}"`]);
    const before = await kernelModules(join(extracted, "src"));
    const after = await kernelModules(join(repoRoot, "src"));
    const cases = await benchCases();
    warmTable(cases, before, after);
    firstCallTable(cases, join(extracted, "src"), join(repoRoot, "src"));
    await backendTable();
  } finally {
    rmSync(extracted, { recursive: true, force: true });
  }
}

interface BenchCase {
  readonly name: string;
  readonly size: string;
  readonly call: (m: Modules) => unknown;
}

/** The kernels on their realistic inputs (built the same way in every process). */
async function benchCases(): Promise<BenchCase[]> {
  const messi = await decode(readFileSync(fixture("images", "messi5.jpg")));
  const messiPreview = await decode(await fixturePreview("messi5.jpg"));
  const street = await decode(await fixturePreview("scenetext01.jpg"));
  const clipConfig = { size: 224, mean: [0.48145466, 0.4578275, 0.40821073], std: [0.26862954, 0.26130258, 0.27577711] };
  // messi5.jpg's face as SCRFD finds it (landmarks in 548x342 pixels), and the same face on the preview.
  const face = [229.7, 107.2, 248.3, 106.9, 239.6, 117.4, 232.1, 124.9, 247.5, 124.6];
  const previewScale = messiPreview.width / messi.width;
  // Four faces: that one and copies shifted right by 100 px steps (a group photo's worth of crops).
  const fourFaces = Float32Array.from({ length: 40 }, (_, i) => face[i % 10]! * previewScale + (i % 2 === 0 ? 100 * Math.floor(i / 10) : 0));
  // The four text lines upstream finds on scenetext01.jpg (800x600), on its 1440 px preview.
  const ocrGolden = JSON.parse(readFileSync(join(repoRoot, "test/golden/ocr/photos.json"), "utf8"));
  const lines: number[] = ocrGolden.photoCrops.boxes;
  const streetScale = street.width / 800;
  const streetBoxes = Float32Array.from(lines, (v) => Math.round(v * streetScale));
  // A detector map with the text lines as regions of high probability, at the detector's size.
  const det = detectionSize(street.width, street.height, 736);
  const map = probabilityMap(det.width, det.height, streetBoxes, det.width / street.width);

  return [
    {
      name: "face letterbox (OpenCV linear)",
      size: `${messi.width}x${messi.height} → 640`,
      call: (m) => m.faces.faceKernels["faces.detectionInput"]({ image: messi, inputSize: 640 }),
    },
    {
      name: "face letterbox (OpenCV linear)",
      size: `${messiPreview.width}x${messiPreview.height} → 640`,
      call: (m) => m.faces.faceKernels["faces.detectionInput"]({ image: messiPreview, inputSize: 640 }),
    },
    {
      name: "face letterbox (OpenCV linear), a photo of a new shape (canvas written)",
      size: `${messiPreview.width}x${messiPreview.height} → 640`,
      call: (m) => {
        m.forgetCanvas(3 * 640 * 640);
        return m.faces.faceKernels["faces.detectionInput"]({ image: messiPreview, inputSize: 640 });
      },
    },
    {
      name: "face align ×4 (OpenCV warpAffine)",
      size: `${messiPreview.width}x${messiPreview.height} → 4×112²`,
      call: (m) => m.faces.faceKernels["faces.recognitionInput"]({ image: messiPreview, landmarks: fourFaces }),
    },
    {
      name: "CLIP input (Pillow bicubic)",
      size: `${street.width}x${street.height} → 224²`,
      call: (m) => m.clip.clipKernels["clip.visualInput"]({ image: street, config: clipConfig }),
    },
    {
      name: "OCR detection input (Pillow lanczos)",
      size: `${street.width}x${street.height} → ${det.width}x${det.height}`,
      call: (m) => m.ocr.ocrKernels["ocr.detectionInput"]({ image: street, maxResolution: 736 }),
    },
    {
      name: "OCR recognition crops (Pillow perspective + OpenCV linear)",
      size: `${street.width}x${street.height}, ${streetBoxes.length / 8} lines`,
      call: (m) => m.ocr.ocrKernels["ocr.recognitionBatches"]({ image: street, boxes: streetBoxes, maxBatch: 6 }),
    },
    {
      name: "OCR DB post-processing",
      size: `${det.width}x${det.height} map`,
      call: (m) => m.dbPostprocess(map, det.width, det.height, street.width, street.height, { boxThresh: 0.5, scoreMode: "fast" }),
    },
  ];
}

function warmTable(cases: BenchCase[], before: Modules, after: Modules): void {
  console.log(`baseline ${baseline.slice(0, 10)} vs working tree; ${rounds} interleaved rounds after ${WARM_UP_CALLS} warm-up calls\n`);
  console.log("| kernel | input | before CPU ms (median) | after CPU ms (median) | speed-up (median ratio) | outputs |");
  console.log("|---|---|---:|---:|---:|---|");
  for (const c of cases) {
    const same = sameBytes(c.call(before), c.call(after));
    const { old, now, ratio } = interleaved(
      () => before.settle(c.call(before)),
      () => after.settle(c.call(after)),
    );
    console.log(
      `| ${c.name} | ${c.size} | ${percentile(old, 50).toFixed(2)} | ${percentile(now, 50).toFixed(2)} | ${ratio.toFixed(1)}× | ${same ? "identical" : "DIFFER"} |`,
    );
  }
}

/** The resizes of the CLIP, OCR detection and face detection inputs, JavaScript loops against wasm ones. */
async function backendTable(): Promise<void> {
  const street = await decode(await fixturePreview("scenetext01.jpg"));
  const messiPreview = await decode(await fixturePreview("messi5.jpg"));
  const det = detectionSize(street.width, street.height, 736);
  // CLIP's shortest-side resize to 224 and its centre crop, as src/tasks/clip/visual-preprocess.ts.
  const clipWidth = Math.trunc((street.width / street.height) * 224);
  const clipWindow = { left: Math.trunc(clipWidth / 2 - 112), top: 0, width: 224, height: 224 };
  const detWindow = { left: 0, top: 0, width: det.width, height: det.height };
  // The face detector's letterbox: the longer side to 640.
  const face = { width: 640, height: Math.round((messiPreview.height * 640) / messiPreview.width) };
  const pil = (filter: PilFilter, width: number, height: number, window: typeof detWindow) => (backend: ResampleBackend) => {
    const out = new Uint8Array(window.width * window.height * 3);
    resizePilRows(street, width, height, filter, window, (y, row) => out.set(row, y * row.length), backend);
    return out;
  };
  const resizes = [
    { name: "CLIP (Pillow bicubic)", size: `${street.width}x${street.height} → 224x224`, run: pil("bicubic", clipWidth, 224, clipWindow) },
    {
      name: "OCR detection (Pillow lanczos)",
      size: `${street.width}x${street.height} → ${det.width}x${det.height}`,
      run: pil("lanczos", det.width, det.height, detWindow),
    },
    {
      name: "face letterbox (OpenCV linear)",
      size: `${messiPreview.width}x${messiPreview.height} → ${face.width}x${face.height}`,
      run: (backend: ResampleBackend) => resizeCvLinear(messiPreview, face.width, face.height, backend).data,
    },
  ];
  console.log(`\nResize alone, JavaScript vs WebAssembly SIMD loops; ${rounds} interleaved rounds after ${WARM_UP_CALLS} warm-up calls\n`);
  console.log("| resize | input | js CPU ms (median) | wasm CPU ms (median) | speed-up (median ratio) | outputs |");
  console.log("|---|---|---:|---:|---:|---|");
  for (const r of resizes) {
    const same = sameBytes(r.run("js"), r.run("wasm"));
    const { old, now, ratio } = interleaved(
      () => r.run("js"),
      () => r.run("wasm"),
    );
    console.log(
      `| ${r.name} | ${r.size} | ${percentile(old, 50).toFixed(2)} | ${percentile(now, 50).toFixed(2)} | ${ratio.toFixed(1)}× | ${same ? "identical" : "DIFFER"} |`,
    );
  }
}

/** Warm-up, then `rounds` timings of each, the order alternating; the median per-round ratio. */
function interleaved(before: () => unknown, after: () => unknown): { old: number[]; now: number[]; ratio: number } {
  // Enough calls for the JIT's top tier to finish compiling even on a busy machine.
  for (let i = 0; i < WARM_UP_CALLS; i++) {
    before();
    after();
  }
  const old: number[] = [];
  const now: number[] = [];
  // Which goes first alternates: the second call of a round pays for the first one's garbage.
  for (let i = 0; i < rounds; i++) {
    if (i % 2 === 0) old.push(timed(before));
    now.push(timed(after));
    if (i % 2 === 1) old.push(timed(before));
  }
  return {
    old,
    now,
    ratio: percentile(
      old.map((t, i) => t / now[i]!),
      50,
    ),
  };
}

function firstCallTable(cases: BenchCase[], beforeSrc: string, afterSrc: string): void {
  console.log(`\nFirst call in a fresh process, median of ${firstCallRounds}\n`);
  console.log("| kernel | input | before CPU ms | after CPU ms | speed-up |");
  console.log("|---|---|---:|---:|---:|");
  const firstCall = (index: number, srcDir: string) =>
    Number(execFileSync(process.execPath, [import.meta.path, "--first-call", String(index), srcDir], { encoding: "utf8" }).trim());
  cases.forEach((c, index) => {
    const old: number[] = [];
    const now: number[] = [];
    for (let i = 0; i < firstCallRounds; i++) {
      old.push(firstCall(index, beforeSrc));
      now.push(firstCall(index, afterSrc));
    }
    const [a, b] = [percentile(old, 50), percentile(now, 50)];
    console.log(`| ${c.name} | ${c.size} | ${a.toFixed(1)} | ${b.toFixed(1)} | ${(a / b).toFixed(1)}× |`);
  });
}

/**
 * CPU milliseconds of one call: the process's CPU time rather than the clock, which on a shared
 * machine also counts the time other processes held the core.
 */
function timed(fn: () => unknown): number {
  // The collector runs on helper threads whose CPU time counts too: collect the previous calls'
  // garbage first, so that no call pays for another's.
  Bun.gc(true);
  const t0 = process.cpuUsage();
  fn();
  const { user, system } = process.cpuUsage(t0);
  return (user + system) / 1000;
}

/** Zero background, 0.9 inside each box (scaled to the map), a soft 0.5 rim around it. */
function probabilityMap(width: number, height: number, boxes: Float32Array, scale: number): Float32Array {
  const map = new Float32Array(width * height);
  for (let b = 0; b < boxes.length; b += 8) {
    const x0 = Math.floor(boxes[b]! * scale);
    const y0 = Math.floor(boxes[b + 1]! * scale);
    const x1 = Math.ceil(boxes[b + 4]! * scale);
    const y1 = Math.ceil(boxes[b + 5]! * scale);
    for (let y = Math.max(0, y0 - 2); y < Math.min(height, y1 + 2); y++) {
      for (let x = Math.max(0, x0 - 2); x < Math.min(width, x1 + 2); x++) {
        map[y * width + x] = x >= x0 && x < x1 && y >= y0 && y < y1 ? 0.9 : 0.5;
      }
    }
  }
  return map;
}

/** Deep equality of kernel results, typed arrays compared byte for byte. */
function sameBytes(a: unknown, b: unknown): boolean {
  if (ArrayBuffer.isView(a) && ArrayBuffer.isView(b)) {
    return Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0;
  }
  if (typeof a === "object" && a !== null && typeof b === "object" && b !== null) {
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((k) => sameBytes((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
  }
  return Object.is(a, b);
}
