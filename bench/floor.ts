/**
 * Service latency against the raw onnxruntime floor, same models, inputs and thread settings,
 * measured in one run: for each scenario, N sequential requests to the server (a separate process)
 * and N raw `session.run` calls on the pre-processed input in this process, reporting p50s and
 * their ratio. CLIP uses compute-realistic stand-ins; faces the real fixture detector + embedder.
 *
 *   bun bench/floor.ts [--requests 30]
 */
import * as ort from "onnxruntime-node";
import { copyFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { availableParallelism, cpus } from "node:os";
import { join } from "node:path";
import { fixturePath, haveFixtures } from "../test/support/fixtures.ts";
import { clipVisualInput, parseClipPreprocessConfig } from "../src/tasks/clip/visual-preprocess.ts";
import { scrfdInput, decodeScrfd } from "../src/tasks/facial-recognition/scrfd.ts";
import { alignFace, arcfaceInput } from "../src/tasks/facial-recognition/arcface-align.ts";
import { argNumber, benchClipCache, multipartBody, percentile, startServerProcess } from "./lib.ts";

const requests = argNumber("--requests", 30);
const sharp: typeof import("sharp").default = require("sharp");
const THREADS = { intraOpNumThreads: 2, interOpNumThreads: 1 };

const cache = benchClipCache();
const clipDir = join(cache, "clip", "ViT-B-32__openai");
if (haveFixtures) {
  const faceDir = join(cache, "facial-recognition", "buffalo_m");
  mkdirSync(join(faceDir, "detection"), { recursive: true });
  mkdirSync(join(faceDir, "recognition"), { recursive: true });
  copyFileSync(fixturePath("models", "scrfd_2.5g.onnx"), join(faceDir, "detection", "model.onnx"));
  copyFileSync(fixturePath("models", "face_embedding_512.onnx"), join(faceDir, "recognition", "model.onnx"));
}

async function timeIt(n: number, fn: () => Promise<unknown>): Promise<number[]> {
  await fn(); // warm-up
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const start = performance.now();
    await fn();
    out.push(performance.now() - start);
  }
  return out;
}

const server = await startServerProcess({ MACHINE_LEARNING_CACHE_FOLDER: cache, IMMICH_LOG_LEVEL: "warn", MACHINE_LEARNING_MODEL_INTRA_OP_THREADS: "2" });
const post = (parts: Parameters<typeof multipartBody>[0]) => {
  const { body, contentType } = multipartBody(parts);
  return () => fetch(`${server.url}/predict`, { method: "POST", body, headers: { "content-type": contentType } }).then((r) => r.text());
};

// A 1440 px preview, the size the Immich server posts.
const photo = haveFixtures ? readFileSync(fixturePath("images", "scenetext01.jpg")) : await sharp({ create: { width: 800, height: 600, channels: 3, background: "#5a8" } }).jpeg().toBuffer();
const preview = await sharp(photo).resize(1440, 1080).jpeg({ quality: 90 }).toBuffer();
const decode = async (bytes: Buffer) => {
  const { data, info } = await sharp(bytes).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data: new Uint8Array(data) };
};

const rows: Array<{ scenario: string; serviceP50: number; floorP50: number; ratio: number; serviceP99: number }> = [];
const report = (scenario: string, service: number[], floor: number[]) =>
  rows.push({ scenario, serviceP50: percentile(service, 50), serviceP99: percentile(service, 99), floorP50: percentile(floor, 50), ratio: percentile(service, 50) / percentile(floor, 50) });

// CLIP image: floor = one run of the visual model on the pre-processed tensor.
{
  const session = await ort.InferenceSession.create(join(clipDir, "visual/model.onnx"), THREADS);
  const cfg = parseClipPreprocessConfig(JSON.parse(readFileSync(join(clipDir, "visual/preprocess_cfg.json"), "utf8")));
  const tensor = new ort.Tensor("float32", clipVisualInput(await decode(preview), cfg), [1, 3, 224, 224]);
  const floor = await timeIt(requests, () => session.run({ image: tensor }));
  const service = await timeIt(requests, post({ entries: '{"clip":{"visual":{"modelName":"ViT-B-32__openai"}}}', image: preview }));
  report("CLIP image (1440 px JPEG, 6x1024 dense stand-in)", service, floor);
  await session.release();
}
// CLIP text: floor = one run of the text model on the token ids.
{
  const session = await ort.InferenceSession.create(join(clipDir, "textual/model.onnx"), THREADS);
  const ids = new ort.Tensor("int32", new Int32Array(77).fill(49407), [1, 77]);
  const floor = await timeIt(requests, () => session.run({ text: ids }));
  const service = await timeIt(requests, post({ entries: '{"clip":{"textual":{"modelName":"ViT-B-32__openai"}}}', text: "test search query" }));
  report("CLIP text (\"test search query\", stand-in)", service, floor);
  await session.release();
}
// Faces: floor = detector run + one recognizer run per face.
if (haveFixtures && existsSync(fixturePath("images", "messi5.jpg"))) {
  const face = await sharp(readFileSync(fixturePath("images", "messi5.jpg"))).resize(1440).jpeg({ quality: 90 }).toBuffer();
  const image = await decode(face);
  const det = await ort.InferenceSession.create(fixturePath("models", "scrfd_2.5g.onnx"), THREADS);
  const rec = await ort.InferenceSession.create(fixturePath("models", "face_embedding_512.onnx"), THREADS);
  const input = scrfdInput(image, 640);
  const detTensor = new ort.Tensor("float32", input.tensor, [1, 3, 640, 640]);
  const outs = await det.run({ [det.inputNames[0]!]: detTensor });
  const faces = decodeScrfd(det.outputNames.map((n) => ({ dims: outs[n]!.dims, data: outs[n]!.data as Float32Array })), 640, input.scale, 0.7);
  const crops = Array.from({ length: faces.scores.length }, (_, i) => alignFace(image, faces.landmarks.subarray(i * 10, i * 10 + 10)));
  const recInput = arcfaceInput(crops);
  const floor = await timeIt(requests, async () => {
    await det.run({ [det.inputNames[0]!]: detTensor });
    for (let i = 0; i < crops.length; i++) await rec.run({ input: new ort.Tensor("float32", recInput.subarray(i * 37632, (i + 1) * 37632), [1, 3, 112, 112]) });
  });
  const service = await timeIt(
    requests,
    post({ entries: '{"facial-recognition":{"detection":{"modelName":"buffalo_m","options":{"minScore":0.7}},"recognition":{"modelName":"buffalo_m"}}}', image: face }),
  );
  report(`Faces (messi5 at 1440 px, ${faces.scores.length} face, SCRFD 2.5g + 512-d embedder)`, service, floor);
}
await server.stop();

console.log(`machine: ${cpus()[0]?.model ?? "unknown"} x${availableParallelism()}, ${process.platform}; ${requests} sequential requests; intra-op threads 2`);
console.log("| scenario | service p50 ms | service p99 ms | raw ORT p50 ms | p50 ratio |");
console.log("|---|---|---|---|---|");
for (const r of rows) console.log(`| ${r.scenario} | ${r.serviceP50.toFixed(1)} | ${r.serviceP99.toFixed(1)} | ${r.floorP50.toFixed(1)} | ${r.ratio.toFixed(2)} |`);
