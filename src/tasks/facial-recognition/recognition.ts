/**
 * Face recognition (`facial-recognition`/`recognition`): every detected face aligned to the ArcFace
 * template (worker thread), then embedded through a micro-batcher, so that the faces of concurrent
 * requests share runs and one request's faces spread over the inference threads: at most
 * `MAX_BATCH_SIZE__FACIAL_RECOGNITION` faces per run (unset: 16), in runs of power-of-two sizes
 * (batch-buckets.ts) so that the session sees a few input shapes, whose memory the arena reuses; a
 * model whose batch axis is fixed to 1 (Immich's buffalo exports) gets one face per run (the file
 * on disk is left as it is). Each face's embedding is the same whatever it was batched with.
 * Embeddings are raw (not normalised), zipped with the detector's box and score.
 */
import type { ModelOptions, Payload } from "../../models/inference-model.ts";
import type { ModelType } from "../../models/identity.ts";
import { bucketRuns, DEFAULT_LARGEST_BUCKET, largestBucket } from "../../runtime/batch-buckets.ts";
import { MicroBatcher } from "../../runtime/micro-batcher.ts";
import { OnnxModel, type OnnxLoaded } from "../../models/onnx-model.ts";
import type { OnnxSession } from "../../runtime/onnx-session.ts";
import { pooledFloat32, recycleTensor } from "../../runtime/tensor-pool.ts";
import { Embedding, Float32Value } from "../response-values.ts";
import { ARCFACE_SIZE } from "./arcface-align.ts";
import type { DetectedFaces } from "./detection.ts";

const CROP_VALUES = 3 * ARCFACE_SIZE * ARCFACE_SIZE;
/**
 * A lone request does not wait for others: under load, faces queue behind the run in progress
 * and batch up by themselves, and a wait would only add latency when the machine is idle.
 */
const BATCH_WAIT_MS = 0;

export interface RecognizedFace {
  boundingBox: { x1: Float32Value; y1: Float32Value; x2: Float32Value; y2: Float32Value };
  embedding: Embedding;
  score: Float32Value;
}

interface FaceRecognitionLoaded extends OnnxLoaded {
  /** Shares runs between the faces of concurrent requests. */
  readonly batcher: MicroBatcher<Float32Array, Float32Array>;
}

export class FaceRecognitionModel extends OnnxModel<RecognizedFace[], { readonly detection: DetectedFaces }, FaceRecognitionLoaded> {
  static override readonly depends: readonly ModelType[] = ["detection"];
  readonly identity = { task: "facial-recognition", type: "recognition" } as const;
  /** One aligned face (arcface-align.ts); its NCHWc convolutions were 3x slower than without on an AVX-512 Xeon (layout-choice.ts). */
  protected override readonly layoutProbe = [1, 3, ARCFACE_SIZE, ARCFACE_SIZE];

  protected async loadFrom(modelDir: string): Promise<FaceRecognitionLoaded> {
    const session = await this.openSession(modelDir);
    const fixedBatch = session.inputs[0]?.shape[0];
    const configured = this.context.settings.maxBatchSize.facialRecognition;
    const maxBatch = largestBucket(typeof fixedBatch === "number" ? Math.min(fixedBatch, configured ?? fixedBatch) : (configured ?? DEFAULT_LARGEST_BUCKET));
    // As many batches at once as there are inference threads to run them, a request's faces split
    // among those idle now.
    const maxRuns = this.context.settings.inferenceThreads;
    const startableRuns = () => session.parallelRunsNow;
    return {
      session,
      batcher: new MicroBatcher((crops) => embedCrops(session, crops, maxBatch), { maxBatch, maxWaitMs: BATCH_WAIT_MS, maxRuns, startableRuns }),
    };
  }

  async predict(payload: Payload, _options: ModelOptions, { detection: faces }: { readonly detection: DetectedFaces }): Promise<RecognizedFace[]> {
    const image = this.requireImage(payload);
    const { batcher } = this.loaded;
    const count = faces.count;
    if (count === 0) return [];
    const input = await this.context.pool.run("faces.recognitionInput", { image, landmarks: faces.detections.landmarks });
    const crops = Array.from({ length: count }, (_, i) => input.subarray(i * CROP_VALUES, (i + 1) * CROP_VALUES));
    const embeddings = await batcher.submit(crops);
    // Every run reading the crops has returned (a failed one leaves the tensor unrecycled).
    recycleTensor(input);
    const { boxes, scores } = faces.detections;
    return embeddings.map((embedding, i) => ({
      boundingBox: {
        x1: new Float32Value(boxes[i * 4]!),
        y1: new Float32Value(boxes[i * 4 + 1]!),
        x2: new Float32Value(boxes[i * 4 + 2]!),
        y2: new Float32Value(boxes[i * 4 + 3]!),
      },
      embedding: new Embedding(embedding),
      score: new Float32Value(scores[i]!),
    }));
  }
}

/** The crops in runs of bucketed sizes up to `largest`; one embedding per crop, in order. */
async function embedCrops(session: OnnxSession, crops: Float32Array[], largest: number): Promise<Float32Array[]> {
  const embeddings: Float32Array[] = [];
  for (const size of bucketRuns(crops.length, largest)) embeddings.push(...(await embedRun(session, crops.slice(embeddings.length, embeddings.length + size))));
  return embeddings;
}

/** One run over the crops ([n, 3, 112, 112] in one buffer); one embedding per crop. */
async function embedRun(session: OnnxSession, crops: Float32Array[]): Promise<Float32Array[]> {
  const shared = sharedSpan(crops);
  const batch = shared ?? pooledFloat32(crops.length * CROP_VALUES);
  if (!shared) crops.forEach((crop, i) => batch.set(crop, i * CROP_VALUES));
  const [output] = await session.run({ [session.inputs[0]!.name]: { type: "float32", data: batch, dims: [crops.length, 3, 112, 112] } });
  if (!shared) recycleTensor(batch);
  const width = output!.data.length / crops.length;
  return crops.map((_, i) => output!.data.slice(i * width, (i + 1) * width));
}

/**
 * The crops as one view when they lie back to back in shared memory (one request's faces, in
 * order, as the recognition-input kernel writes them into a pooled tensor): the inference thread
 * reads them there. Copying a 16-face photo's crops into a fresh batch cost the HTTP thread about
 * 1.2 ms of CPU a request (`bench/thread-cpu.ts --only faces-group`).
 */
export function sharedSpan(crops: Float32Array[]): Float32Array | undefined {
  const first = crops[0]!;
  if (!(first.buffer instanceof SharedArrayBuffer)) return undefined;
  const contiguous = crops.every(
    (crop, i) =>
      crop.buffer === first.buffer && crop.length === CROP_VALUES && crop.byteOffset === first.byteOffset + i * CROP_VALUES * Float32Array.BYTES_PER_ELEMENT,
  );
  return contiguous ? new Float32Array(first.buffer, first.byteOffset, crops.length * CROP_VALUES) : undefined;
}
