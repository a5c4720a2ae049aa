/**
 * OCR recogniser input, as upstream prepares it: each detected box is cut out of the original
 * image with a perspective warp (Immich's `get_crop_img_list`), then the crops are batched by
 * aspect ratio and normalised the way RapidOCR's `TextRecognizer` does.
 */
import { resizeCvLinearRows } from "../../imaging/cv-resize.ts";
import { byteTable, uniformLayout } from "../../imaging/planar-row.ts";
import { perspectiveCropPil } from "../../imaging/pil-perspective.ts";
import type { RgbImage } from "../../imaging/rgb-image.ts";

/** RapidOCR's `rec_img_shape` (3, 48, 320): fixed height, minimum batch width. */
export const REC_HEIGHT = 48;
export const REC_MIN_WIDTH = 320;
/** Crops at least this much taller than wide are vertical text and get turned upright. */
const VERTICAL_RATIO = 1.5;

const f = Math.fround;

/**
 * One upright crop per box (`boxes`: N×8 pixel corners TL, TR, BR, BL). The crop is as wide as
 * the longer of the top/bottom edges and as tall as the longer of the left/right edges (lengths
 * in float32, truncated), like upstream.
 */
export function cropTextLines(image: RgbImage, boxes: Float32Array): RgbImage[] {
  const crops: RgbImage[] = [];
  for (let b = 0; b + 8 <= boxes.length; b += 8) {
    const box = boxes.subarray(b, b + 8);
    const edge = (p: number, q: number): number => {
      const dx = f(box[2 * p]! - box[2 * q]!);
      const dy = f(box[2 * p + 1]! - box[2 * q + 1]!);
      return f(Math.sqrt(f(f(dx * dx) + f(dy * dy))));
    };
    const width = Math.trunc(Math.max(edge(1, 0), edge(2, 3)));
    const height = Math.trunc(Math.max(edge(0, 3), edge(1, 2)));
    const crop = perspectiveCropPil(image, box, width, height);
    crops.push(height / width >= VERTICAL_RATIO ? rotate90CounterClockwise(crop) : crop);
  }
  return crops;
}

export interface RecognitionBatch {
  /** Positions in the `crops` argument of the batch's rows, in row order. */
  readonly indices: number[];
  /** `[indices.length, 3, 48, width]`, channels B, G, R, values in [−1, 1], zero-padded right; in shared memory. */
  readonly tensor: Float32Array;
  readonly width: number;
}

/**
 * RapidOCR's batching: crops sorted by width/height (stable), cut into batches of `maxBatch`;
 * each batch is as wide as its widest crop at height 48 (at least 320) and every crop is resized
 * to height 48 keeping its aspect ratio (`cv2.resize`, bilinear), then left-aligned.
 */
export function recognitionBatches(crops: RgbImage[], maxBatch: number): RecognitionBatch[] {
  if (!(maxBatch >= 1)) throw new Error(`recognitionBatches: invalid batch size ${maxBatch}`);
  const ratio = crops.map((c) => c.width / c.height);
  const order = crops.map((_, i) => i).sort((a, b) => ratio[a]! - ratio[b]!);
  const batches: RecognitionBatch[] = [];
  for (let start = 0; start < order.length; start += maxBatch) {
    const indices = order.slice(start, start + maxBatch);
    const maxRatio = Math.max(REC_MIN_WIDTH / REC_HEIGHT, ...indices.map((i) => ratio[i]!));
    const width = Math.trunc(REC_HEIGHT * maxRatio);
    // Shared memory, zeroed (the padding), so that a run over some of its rows reads them in place.
    const tensor = new Float32Array(new SharedArrayBuffer(indices.length * 3 * REC_HEIGHT * width * Float32Array.BYTES_PER_ELEMENT));
    indices.forEach((i, row) => writeRow(tensor, row, width, crops[i]!));
    batches.push({ indices, tensor, width });
  }
  return batches;
}

/** Resizes `crop` to height 48 and writes it as row `row` of a batch `width` wide. */
function writeRow(tensor: Float32Array, row: number, width: number, crop: RgbImage): void {
  const wanted = Math.ceil(REC_HEIGHT * (crop.width / crop.height));
  const resizedWidth = wanted > width ? width : wanted;
  const plane = REC_HEIGHT * width;
  const base = row * 3 * plane;
  resizeCvLinearRows(crop, resizedWidth, REC_HEIGHT, { tensor, plane, start: base, stride: width, layout: LAYOUT });
}

/**
 * Upstream converts crops to BGR (OpenCV order), then `(p / 255 − 0.5) / 0.5`, step by step in
 * float32 as numpy evaluates it.
 */
const LAYOUT = uniformLayout(
  byteTable((p) => f(f(f(p / 255) - 0.5) / 0.5)),
  [2, 1, 0],
);

/** PIL `rotate(90, expand=True)`: a lossless quarter turn counter-clockwise. */
function rotate90CounterClockwise(src: RgbImage): RgbImage {
  const { width: w, height: h, data } = src;
  const out = new Uint8Array(w * h * 3);
  // Output is h wide and w tall; output (x, y) shows source (w − 1 − y, x).
  for (let y = 0; y < w; y++) {
    for (let x = 0; x < h; x++) {
      const s = (x * w + (w - 1 - y)) * 3;
      const d = (y * h + x) * 3;
      out[d] = data[s]!;
      out[d + 1] = data[s + 1]!;
      out[d + 2] = data[s + 2]!;
    }
  }
  return { width: h, height: w, data: out };
}
