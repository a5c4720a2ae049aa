/**
 * `immich-ml selftest`: proves on this machine that the pieces a compiled executable embeds work:
 * the native libraries were found, onnxruntime runs a model, sharp decodes an image through the
 * service's own decoder, and a worker thread answers a kernel call. Prints one OK/FAIL line each.
 */
import * as ort from "onnxruntime-node";
import { decodeImage } from "../pipeline/decode-image.ts";
import { WorkerPool } from "../runtime/worker-pool.ts";
import { TASK_KERNELS } from "../tasks/kernels.ts";
import type { RgbImage } from "../imaging/rgb-image.ts";
import { nativeDir } from "../native/loader.ts";
import { addModel } from "../runtime/tiny-onnx.ts";

// sharp must be loaded with require(): its ESM build hides the native addon from `bun build --compile`.
const sharp: typeof import("sharp").default = require("sharp");

const WORKER_TIMEOUT_MS = 10_000;

async function onnxruntime(): Promise<string> {
  const session = await ort.InferenceSession.create(addModel(), { intraOpNumThreads: 1, interOpNumThreads: 1 });
  try {
    const a = new ort.Tensor("float32", Float32Array.of(1, 2, 3), [3]);
    const b = new ort.Tensor("float32", Float32Array.of(10, 20, 30), [3]);
    const sum = [...((await session.run({ a, b })).sum!.data as Float32Array)];
    if (sum.join() !== "11,22,33") throw new Error(`Add gave [${sum}], expected [11,22,33]`);
    return `${ort.env.versions.node}, Add [1,2,3] + [10,20,30] = [${sum}]`;
  } finally {
    await session.release();
  }
}

/** A 4×2 PNG made by sharp, then decoded by the service's decoder (one pixel per colour checked). */
async function imageDecode(): Promise<{ line: string; image: RgbImage }> {
  const pixels = Uint8Array.from({ length: 4 * 2 * 3 }, (_, i) => (i * 10) % 256);
  const png = await sharp(pixels, { raw: { width: 4, height: 2, channels: 3 } })
    .png()
    .toBuffer();
  const image = await decodeImage(png, { maxPixels: 1_000_000 });
  if (image.width !== 4 || image.height !== 2 || image.data.join() !== pixels.join()) {
    throw new Error(`PNG round trip gave ${image.width}×${image.height} with other pixels`);
  }
  return { line: `${sharp.versions.sharp} with libvips ${sharp.versions.vips}, PNG encoded and decoded to RGB`, image };
}

async function workerThread(image: RgbImage): Promise<string> {
  const started = performance.now();
  const pool = new WorkerPool(1, TASK_KERNELS);
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${WORKER_TIMEOUT_MS / 1000} s`)), WORKER_TIMEOUT_MS);
    });
    const { tensor } = await Promise.race([pool.run("faces.detectionInput", { image, inputSize: 8 }), timeout]);
    if (tensor.length !== 3 * 8 * 8) throw new Error(`kernel returned ${tensor.length} values, expected ${3 * 8 * 8}`);
    return `kernel round trip in ${(performance.now() - started).toFixed(0)} ms`;
  } finally {
    clearTimeout(timer);
    await pool.close();
  }
}

export async function selftest(): Promise<number> {
  let failures = 0;
  const report = async (name: string, check: () => Promise<string>) => {
    try {
      console.log(`OK    ${name}: ${await check()}`);
    } catch (error) {
      failures++;
      console.log(`FAIL  ${name}: ${error instanceof Error ? error.message : String(error)}`);
    }
  };
  await report("native libraries", async () => nativeDir ?? "loaded from node_modules (running from source)");
  await report("onnxruntime", onnxruntime);
  let image: RgbImage | undefined;
  await report("sharp", async () => {
    const decoded = await imageDecode();
    image = decoded.image;
    return decoded.line;
  });
  await report("worker thread", async () => {
    if (!image) throw new Error("skipped: no decoded image");
    return workerThread(image);
  });
  return failures === 0 ? 0 : 1;
}
