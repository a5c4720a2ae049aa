/**
 * SCRFD face detection around the ONNX run: the letterboxed input tensor, and decoding of the raw
 * outputs into boxes, scores and five landmarks, reproducing insightface's `RetinaFace.detect`
 * (contract spec 2.4) down to its float32 arithmetic, so that the rounded boxes Immich stores and
 * the landmarks that drive face alignment match the Python service.
 */
import { resizeCvLinearRows } from "../../imaging/cv-resize.ts";
import { affineLayout } from "../../imaging/planar-row.ts";
import type { RgbImage } from "../../imaging/rgb-image.ts";
import { roundHalfEven } from "../../imaging/cv-round.ts";
import { markCanvas, pooledCanvasTensor } from "../../runtime/tensor-pool.ts";
import { greedyNms } from "./nms.ts";

/** One session output as the runtime hands it over. */
export interface RawOutput {
  readonly dims: readonly number[];
  readonly data: Float32Array;
}

export interface FaceDetections {
  /** x1 y1 x2 y2 per face in source-image pixels, rounded half to even, not clipped. */
  readonly boxes: Float32Array;
  readonly scores: Float32Array;
  /** 5 (x, y) points per face: left eye, right eye, nose, left and right mouth corner. */
  readonly landmarks: Float32Array;
}

export interface ScrfdInput {
  /** [1, 3, inputSize, inputSize] NCHW, RGB, `(p - 127.5) / 128`. */
  readonly tensor: Float32Array;
  /** insightface's `det_scale`: letterboxed size / source size. */
  readonly scale: number;
}

const MEAN = 127.5;
const STD = 128;
/**
 * `(p - 127.5) / 128` for every byte, as float32, in RGB planes: dividing by 128 is multiplying by
 * 2^-7 exactly, so the layout's float32 product is insightface's quotient.
 */
const LAYOUT = affineLayout({ offset: MEAN, scale: 1 / STD }, [0, 1, 2]);
const NMS_IOU = 0.4;
/**
 * Candidates (best scores first) that go into NMS. insightface has no such limit, and at
 * `minScore: 0` every anchor is one (16,800 at 640x640): NMS then kept 6,898 "faces" of a photo
 * and recognition ran on each, minutes of CPU. Photos at the Immich server's lowest `minScore`
 * (0.1) stay far below it, so their results are unchanged; past it, only the best candidates count.
 */
export const MAX_NMS_CANDIDATES = 1000;
const f = Math.fround;

/**
 * Letterbox: scale the longer side to `inputSize` (sizes truncated like Python's `int()`), paste at
 * the top-left of a black square, normalise. insightface resizes the BGR image and lets
 * `blobFromImage(swapRB=True)` turn it back into RGB; resizing is per channel, so resizing the RGB
 * image directly gives the same tensor.
 */
export function scrfdInput(image: RgbImage, inputSize = 640): ScrfdInput {
  const ratio = image.height / image.width;
  const newWidth = ratio > 1 ? Math.trunc(inputSize / ratio) : inputSize;
  const newHeight = ratio > 1 ? inputSize : Math.trunc(inputSize * ratio);
  if (newWidth <= 0 || newHeight <= 0) {
    throw new Error(`image ${image.width}x${image.height} is too elongated to letterbox into ${inputSize}x${inputSize}`);
  }
  const plane = inputSize * inputSize;
  const black = LAYOUT.tables[0][0]!;
  // The canvas right of the image (a portrait photo's) and below it is black; a reused tensor of
  // a photo of the same shape holds it already. Everything else is written below.
  const canvas = newWidth * 65536 + newHeight;
  const { tensor, hasCanvas } = pooledCanvasTensor(3 * plane, canvas);
  resizeCvLinearRows(image, newWidth, newHeight, { tensor, plane, start: 0, stride: inputSize, layout: LAYOUT });
  if (!hasCanvas) {
    if (newWidth < inputSize) {
      for (let y = 0; y < newHeight; y++) {
        for (let c = 0; c < 3; c++) tensor.fill(black, c * plane + y * inputSize + newWidth, c * plane + (y + 1) * inputSize);
      }
    }
    for (let c = 0; c < 3; c++) tensor.fill(black, c * plane + newHeight * inputSize, (c + 1) * plane);
    markCanvas(tensor, canvas);
  }
  return { tensor, scale: newHeight / image.height };
}

/** The outputs of one feature-map level. */
interface Level {
  readonly stride: number;
  readonly anchors: number;
  readonly scores: Float32Array;
  readonly distances: Float32Array;
  readonly offsets: Float32Array;
}

/**
 * @param outputs the session outputs, any order: they are told apart by shape
 * @param inputSize side of the square input the tensor was made for
 * @param scale `ScrfdInput.scale` of that tensor
 * @param minScore keep anchors scoring at least this (insightface's `det_thresh`)
 */
export function decodeScrfd(outputs: RawOutput[], inputSize: number, scale: number, minScore: number): FaceDetections {
  const threshold = f(minScore);
  const detScale = f(scale);
  const boxes: number[] = [];
  const points: number[] = [];
  const scores: number[] = [];
  for (const level of groupLevels(outputs, inputSize)) {
    const { stride, anchors } = level;
    const cols = Math.floor(inputSize / stride);
    for (let a = 0; a < level.scores.length; a++) {
      const score = level.scores[a]!;
      if (!(score >= threshold)) continue;
      // Anchors are laid out row-major by cell, `anchors` consecutive entries per cell.
      const cell = Math.floor(a / anchors);
      const cx = (cell % cols) * stride;
      const cy = Math.floor(cell / cols) * stride;
      const d = level.distances.subarray(4 * a, 4 * a + 4);
      boxes.push(
        f(f(cx - f(d[0]! * stride)) / detScale),
        f(f(cy - f(d[1]! * stride)) / detScale),
        f(f(cx + f(d[2]! * stride)) / detScale),
        f(f(cy + f(d[3]! * stride)) / detScale),
      );
      for (let k = 0; k < 10; k++) {
        const centre = k % 2 === 0 ? cx : cy;
        points.push(f(f(centre + f(level.offsets[10 * a + k]! * stride)) / detScale));
      }
      scores.push(score);
    }
  }

  // Stable sort: equal scores keep level/anchor order (numpy's argsort is not stable either way).
  const order = scores
    .map((_, i) => i)
    .sort((i, j) => scores[j]! - scores[i]!)
    .slice(0, MAX_NMS_CANDIDATES);
  const keep = greedyNms(boxes, order, NMS_IOU);
  const result: FaceDetections = {
    boxes: new Float32Array(keep.length * 4),
    scores: new Float32Array(keep.length),
    landmarks: new Float32Array(keep.length * 10),
  };
  keep.forEach((c, n) => {
    for (let k = 0; k < 4; k++) result.boxes[4 * n + k] = roundHalfEven(boxes[4 * c + k]!);
    result.scores[n] = scores[c]!;
    result.landmarks.set(points.slice(10 * c, 10 * c + 10), 10 * n);
  });
  return result;
}

/** The two SCRFD head layouts insightface knows: 3 levels with 2 anchors per cell, or 5 with 1. */
const LAYOUTS: Record<number, { readonly strides: readonly number[]; readonly anchors: number }> = {
  3: { strides: [8, 16, 32], anchors: 2 },
  5: { strides: [8, 16, 32, 64, 128], anchors: 1 },
};

function groupLevels(outputs: RawOutput[], inputSize: number): Level[] {
  const byWidth = new Map<number, { rows: number; data: Float32Array }[]>();
  for (const output of outputs) {
    const { dims, data } = output;
    if (dims.length !== 2 && dims.length !== 3) throw new Error(`SCRFD output of rank ${dims.length}; expected [N, k] or [1, N, k]`);
    const width = dims[dims.length - 1]!;
    const rows = dims[dims.length - 2]!;
    if (data.length < rows * width) throw new Error(`SCRFD output data shorter than its shape [${dims.join(", ")}]`);
    const group = byWidth.get(width) ?? [];
    group.push({ rows, data: data.subarray(0, rows * width) });
    byWidth.set(width, group);
  }
  const scores = byWidth.get(1) ?? [];
  const distances = byWidth.get(4) ?? [];
  const offsets = byWidth.get(10) ?? [];
  const shapes = outputs.map((o) => `[${o.dims.join(",")}]`).join(" ");
  if (offsets.length === 0 && scores.length > 0 && scores.length === distances.length) {
    throw new Error(`SCRFD model has no keypoint outputs (${shapes}); face alignment needs the 5 landmarks`);
  }
  const layout = LAYOUTS[scores.length];
  if (!layout || distances.length !== scores.length || offsets.length !== scores.length || byWidth.size !== 3) {
    throw new Error(`unrecognised SCRFD outputs ${shapes}; expected 3 or 5 levels of scores [N,1], boxes [N,4], keypoints [N,10]`);
  }
  for (const group of [scores, distances, offsets]) group.sort((a, b) => b.rows - a.rows);
  const { strides, anchors } = layout;
  return strides.map((stride, i) => {
    const rows = Math.floor(inputSize / stride) ** 2 * anchors;
    if (scores[i]!.rows !== rows || distances[i]!.rows !== rows || offsets[i]!.rows !== rows) {
      throw new Error(`SCRFD outputs ${shapes} do not fit a ${inputSize}x${inputSize} input at stride ${stride}`);
    }
    return { stride, anchors, scores: scores[i]!.data, distances: distances[i]!.data, offsets: offsets[i]!.data };
  });
}
