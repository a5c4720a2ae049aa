/**
 * Sizes the stand-in "heavy" CLIP visual model to this machine. Tests of deadlines need a run that
 * is certainly longer than a deadline, and a fixed layer count is not: a fast machine finished the
 * 48-layer model inside a 0.3 s deadline. So one layer is timed here first, with the same single
 * intra-op thread the test server gives its sessions, and the layer count follows from it.
 */
import * as ort from "onnxruntime-node";
import { heavyVisualModel } from "./onnx-builder.ts";

const PROBE_LAYERS = 4;
/** Wide layers: the same run time from fewer nodes, so the session opens faster. */
const WIDTH = 2048;

export interface SlowModel {
  /** The model's ONNX bytes. */
  model: Uint8Array;
  /** The run time those layers are expected to take at least, on a quiet machine (ms). */
  expectedRunMs: number;
}

/** A visual tower whose run takes at least `minRunMs` on one thread, measured now. */
export async function slowVisualModel(minRunMs: number): Promise<SlowModel> {
  const session = await ort.InferenceSession.create(heavyVisualModel({ layers: PROBE_LAYERS, width: WIDTH }), { intraOpNumThreads: 1, interOpNumThreads: 1 });
  try {
    const feeds = { image: new ort.Tensor("float32", new Float32Array(3 * 224 * 224).fill(0.5), [1, 3, 224, 224]) };
    let fastest = Number.POSITIVE_INFINITY;
    // The fastest of three: contention only makes the real run slower, which keeps it past the deadline.
    for (let i = 0; i < 3; i++) {
      const started = performance.now();
      await session.run(feeds);
      fastest = Math.min(fastest, performance.now() - started);
    }
    const perLayerMs = fastest / PROBE_LAYERS;
    const layers = Math.max(PROBE_LAYERS, Math.ceil(minRunMs / perLayerMs));
    return { model: heavyVisualModel({ layers, width: WIDTH }), expectedRunMs: layers * perLayerMs };
  } finally {
    await session.release();
  }
}
