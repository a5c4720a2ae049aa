/**
 * OCR: the request the Immich server sends, on scenetext01.jpg as a 1440 px preview, against its
 * onnxruntime floor (the detector and recogniser runs the service makes for that image, with the
 * same model files, tensors and session options: bench/floor-plans.ts), one floor run and one
 * request in turn so that both see the same machine load; and the server's memory:
 * RSS (/health) before the first request, after it (models loaded) and after N more. Then the same
 * photo through the tesseract fallback (model `tesseract`), which has no onnxruntime floor. The
 * server's per-stage timers (/metrics, bench/stage-profile.ts) show where the time above the floor goes.
 * Models: the fixture PP-OCRv3 detector and the PP-OCRv4 recogniser, laid out as upstream's cache.
 *
 *   bun bench/ocr.ts [--requests 30] [--tesseract-requests 10]
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { loadSettings } from "../src/config/settings.ts";
import { fixture, ocrAsset, requireFixtures } from "./fixtures.ts";
import { ocrPlan, RawSessions } from "./floor-plans.ts";
import { argNumber, multipartBody, percentile, startServerProcess } from "./lib.ts";
import { fixturePreview } from "./photos.ts";
import { stageProfile, stageTotals } from "./stage-profile.ts";

const requests = argNumber("--requests", 30);
const tesseractRequests = argNumber("--tesseract-requests", 10);
const MODEL = "PP-OCRv5_mobile";
// What the Immich server sends.
const options = { detection: { minScore: 0.5, maxResolution: 736 }, recognition: { minScore: 0.8 } };
const entries = (modelName: string) =>
  JSON.stringify({ ocr: { detection: { modelName, options: options.detection }, recognition: { modelName, options: options.recognition } } });

requireFixtures();
const cache = mkdtempSync(join(tmpdir(), "immich-ml-bench-ocr-"));
const modelDir = join(cache, "ocr", MODEL);
const detector = join(modelDir, "detection", "model.onnx");
const recognizer = join(modelDir, "recognition", "model.onnx");
mkdirSync(join(modelDir, "detection"), { recursive: true });
mkdirSync(join(modelDir, "recognition"), { recursive: true });
copyFileSync(fixture("models", "ppocr_v3_en_det.onnx"), detector);
copyFileSync(ocrAsset("ch_PP-OCRv4_rec_infer.onnx"), recognizer);
copyFileSync(ocrAsset("ppocr_keys_v1.txt"), join(modelDir, "recognition", "dict.txt"));

const env = {
  MACHINE_LEARNING_CACHE_FOLDER: cache,
  IMMICH_LOG_LEVEL: "warn",
  MACHINE_LEARNING_MODEL_INTRA_OP_THREADS: "2",
  MACHINE_LEARNING_MODEL_INTER_OP_THREADS: "1",
};
const settings = loadSettings({ ...process.env, ...env });
const preview = await fixturePreview("scenetext01.jpg");

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

// The floor: the service's own onnxruntime runs for this image, back to back, nothing else.
const sessions = new RawSessions({
  inferenceThreads: settings.inferenceThreads,
  intraOpThreads: settings.intraOpThreads,
  interOpThreads: settings.interOpThreads,
  arena: settings.modelArena,
  deviceId: settings.deviceId,
});
const plan = await ocrPlan(sessions, detector, recognizer, preview, { maxResolution: 736, boxThresh: 0.5, maxBatch: settings.maxBatchSize.ocr });

const server = await startServerProcess(env);
const rssMiB = async () => ((await (await fetch(`${server.url}/health`)).json()) as { rssBytes: number }).rssBytes / 2 ** 20;
const post = (modelName: string) => {
  const { body, contentType } = multipartBody({ entries: entries(modelName), image: preview });
  return async () => {
    const response = await fetch(`${server.url}/predict`, { method: "POST", body, headers: { "content-type": contentType } });
    if (!response.ok) throw new Error(`/predict answered ${response.status}: ${await response.text()}`);
    return (await response.json()) as { ocr: { text: string[] } };
  };
};

const rssIdle = await rssMiB();
const ppocr = post(MODEL);
const ppocrLines = (await ppocr()).ocr.text; // loads the models
const rssLoaded = await rssMiB();
await sessions.runPlan(plan); // warm-up
const floor: number[] = [];
const service: number[] = [];
const stagesBefore = await stageTotals(server.url);
for (let i = 0; i < requests; i++) {
  floor.push(await timed(() => sessions.runPlan(plan)));
  service.push(await timed(ppocr));
}
const stages = stageProfile(stagesBefore, await stageTotals(server.url), requests, service.reduce((a, b) => a + b, 0) / 1000);
await sessions.close();
const rssAfter = await rssMiB();
const tesseract = post("tesseract");
const tesseractLines = (await tesseract()).ocr.text; // starts the worker
const tesseractTimes: number[] = [];
for (let i = 0; i < tesseractRequests; i++) tesseractTimes.push(await timed(tesseract));
const rssTesseract = await rssMiB();
await server.stop();
rmSync(cache, { recursive: true, force: true });

const ms = (values: number[], p: number) => percentile(values, p).toFixed(1);
console.log(
  `machine: ${cpus()[0]?.model ?? "unknown"} x${availableParallelism()}, ${process.platform}; intra-op threads ${settings.intraOpThreads}, inter-op ${settings.interOpThreads}`,
);
console.log(
  `PP-OCR reads ${ppocrLines.length} lines (${plan.units} boxes detected, ${plan.steps.length - 1} recogniser batches): ${JSON.stringify(ppocrLines)}`,
);
console.log(`tesseract reads ${tesseractLines.length} lines: ${JSON.stringify(tesseractLines)}`);
console.log("");
console.log("| scenario | requests | service p50 ms | service p99 ms | raw ORT p50 ms | p50 ratio |");
console.log("|---|---|---|---|---|---|");
console.log(
  `| OCR, scenetext01 as 1440 px preview, PP-OCRv3 det + PP-OCRv4 rec | ${requests} | ${ms(service, 50)} | ${ms(service, 99)} | ${ms(floor, 50)} | ${(percentile(service, 50) / percentile(floor, 50)).toFixed(2)} |`,
);
console.log(`| same photo, tesseract fallback (\`tesseract\`) | ${tesseractRequests} | ${ms(tesseractTimes, 50)} | ${ms(tesseractTimes, 99)} | — | — |`);
console.log("");
console.log(`| server RSS | idle | after 1st OCR request | after ${requests + 1} OCR requests | after ${tesseractRequests + 1} tesseract requests |`);
console.log("|---|---|---|---|---|");
console.log(`| MiB | ${rssIdle.toFixed(0)} | ${rssLoaded.toFixed(0)} | ${rssAfter.toFixed(0)} | ${rssTesseract.toFixed(0)} |`);
console.log("");
console.log("| server stage (PP-OCR requests) | runs per request | wait ms | run ms |");
console.log("|---|---|---|---|");
for (const row of stages.rows) console.log(`| ${row.stage} | ${row.perRequest.toFixed(1)} | ${row.waitMs.toFixed(1)} | ${row.runMs.toFixed(1)} |`);
