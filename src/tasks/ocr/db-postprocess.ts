/**
 * DB (Differentiable Binarization) post-processing: the detector's probability map → text boxes
 * in the original image, as upstream computes it (RapidOCR's `DBPostProcess` with Immich's
 * settings, then `filter_det_res` and `sorted_boxes`).
 *
 * Every step mirrors the numpy/OpenCV code it replaces, including float32 rounding where the
 * result is compared or rounded: a box is kept or dropped on a threshold, and its corners are
 * rounded to whole pixels, so an "almost equal" implementation would occasionally gain, lose
 * or shift a text line.
 */
import { roundHalfEven } from "../../imaging/cv-round.ts";
import { meanUnderPolygon } from "./box-score.ts";
import { findContoursSimple } from "./cv-contours.ts";
import { boxPoints, minAreaRect } from "./cv-min-area-rect.ts";
import { readingOrder } from "./reading-order.ts";

/** Pixels above this probability form text regions (numpy compares in float32). */
const BINARY_THRESHOLD = Math.fround(0.3);
const MAX_CANDIDATES = 1000;
const UNCLIP_RATIO = 1.6;
/** Shorter side below which a region is noise, before (3) and after (3 + 2) unclipping. */
const MIN_SIZE = 3;
/** Boxes whose top or left edge is shorter than this many whole pixels are dropped. */
const MIN_EDGE = 4;

export interface DbOptions {
  /** Minimum mean probability of a box (`minScore`, upstream's `box_thresh`). */
  readonly boxThresh: number;
  /** `fast`: mean over the box's min-area rectangle; `slow`: over the region's contour. */
  readonly scoreMode: "fast" | "slow";
}

export interface DbBoxes {
  /** N×8 pixel coordinates per box: top-left, top-right, bottom-right, bottom-left (x, y). */
  readonly boxes: Float32Array;
  /** N box scores, index-aligned with `boxes`. */
  readonly scores: Float32Array;
}

/**
 * Boxes from `pred`, the detector output `[1,1,predHeight,predWidth]`, scaled to an original
 * image of `origWidth`×`origHeight`, in upstream's reporting order.
 */
export function dbPostprocess(pred: Float32Array, predWidth: number, predHeight: number, origWidth: number, origHeight: number, opts: DbOptions): DbBoxes {
  if (pred.length < predWidth * predHeight) {
    throw new Error(`dbPostprocess: map has ${pred.length} values, expected ${predWidth}x${predHeight}`);
  }
  const mask = dilatedTextMask(pred, predWidth, predHeight);
  const contours = findContoursSimple(mask, predWidth, predHeight).slice(0, MAX_CANDIDATES);

  const corners: number[] = [];
  const scores: number[] = [];
  const scaleX = origWidth / predWidth;
  const scaleY = origHeight / predHeight;
  for (const contour of contours) {
    const rect = minAreaRect(contour);
    if (Math.min(rect.width, rect.height) < MIN_SIZE) continue;
    const polygon = opts.scoreMode === "fast" ? boxPoints(rect) : contour;
    const score = meanUnderPolygon(pred, predWidth, predHeight, polygon);
    if (opts.boxThresh > score) continue;

    // "Unclip": upstream offsets the rectangle outwards by area·ratio/perimeter. For a rectangle
    // a round-joined offset's min-area rectangle is the rectangle with every side pushed out by
    // that distance, i.e. width and height each grow by twice it (Immich's vendored code does
    // exactly this instead of calling pyclipper).
    const { width: w, height: h } = rect;
    const grow = (w * h * UNCLIP_RATIO) / (w + h);
    if (Math.min(w, h) + grow < MIN_SIZE + 2) continue;
    const grown = boxPoints({ ...rect, width: Math.fround(w + grow), height: Math.fround(h + grow) });
    for (let i = 0; i < 8; i += 2) {
      corners.push(
        Math.min(Math.max(roundHalfEven(Math.fround(grown[i]! * scaleX)), 0), origWidth),
        Math.min(Math.max(roundHalfEven(Math.fround(grown[i + 1]! * scaleY)), 0), origHeight),
      );
    }
    scores.push(score);
  }

  const kept = keepOrderedBoxes(corners, scores, origWidth, origHeight);
  // Upstream reorders only the boxes and leaves the scores in contour order, pairing some boxes
  // with another box's score whenever the reordering is not the identity (several boxes on one
  // line). Scores here follow their boxes.
  const order = readingOrder(kept.boxes);
  const boxes = new Float32Array(kept.boxes.length);
  order.forEach((from, to) => boxes.set(kept.boxes.subarray(from * 8, from * 8 + 8), to * 8));
  return { boxes, scores: Float32Array.from(order, (from) => kept.scores[from]!) };
}

/**
 * `cv2.dilate(pred > 0.3, ones((2, 2)))`: with the anchor at the kernel's centre (its bottom-right
 * cell), a pixel is set when it or its left, upper or upper-left neighbour is above the threshold;
 * so each pixel above it sets itself and its right, lower and lower-right neighbours. Written that
 * way round, the pass over the map is one compare a pixel, and only the few pixels of text write:
 * most of a detector map is background (0.95–1.00 → 0.56–0.62 ms for 992x736 with four lines;
 * a map that is text everywhere, 1.0 → 1.7 ms).
 */
export function dilatedTextMask(pred: Float32Array, width: number, height: number): Uint8Array {
  const out = new Uint8Array(width * height);
  for (let y = 0, row = 0; y < height; y++, row += width) {
    const below = y + 1 < height;
    for (let x = 0; x < width; x++) {
      if (pred[row + x]! > BINARY_THRESHOLD) {
        const right = x + 1 < width;
        out[row + x] = 1;
        if (right) out[row + x + 1] = 1;
        if (below) {
          out[row + width + x] = 1;
          if (right) out[row + width + x + 1] = 1;
        }
      }
    }
  }
  return out;
}

/**
 * Upstream's `filter_det_res`: puts each box's corners in clockwise order from the top-left,
 * clips them to the image and drops boxes whose top or left edge is under `MIN_EDGE` pixels.
 */
function keepOrderedBoxes(corners: number[], scores: number[], width: number, height: number): DbBoxes {
  const boxes: number[] = [];
  const kept: number[] = [];
  scores.forEach((score, b) => {
    const box = clockwiseFromTopLeft(corners.slice(b * 8, b * 8 + 8));
    for (let i = 0; i < 8; i += 2) {
      box[i] = Math.min(Math.max(box[i]!, 0), width - 1);
      box[i + 1] = Math.min(Math.max(box[i + 1]!, 0), height - 1);
    }
    const top = (box[2]! - box[0]!) ** 2 + (box[3]! - box[1]!) ** 2;
    const left = (box[6]! - box[0]!) ** 2 + (box[7]! - box[1]!) ** 2;
    // Coordinates are whole numbers here, so int(length) >= MIN_EDGE ⇔ length² >= MIN_EDGE².
    if (Math.min(top, left) < MIN_EDGE * MIN_EDGE) return;
    boxes.push(...box);
    kept.push(score);
  });
  return { boxes: Float32Array.from(boxes), scores: Float32Array.from(kept) };
}

/**
 * Upstream's `order_points_clockwise`: the two leftmost corners (stable sort by x) give the
 * top-left and bottom-left by y, the two rightmost the top-right and bottom-right; ties in y keep
 * the x order.
 */
function clockwiseFromTopLeft(box: number[]): number[] {
  const byX = [0, 1, 2, 3].sort((a, b) => box[2 * a]! - box[2 * b]!);
  const pair = (p: number, q: number): [number, number] => (box[2 * p + 1]! > box[2 * q + 1]! ? [q, p] : [p, q]);
  const [topLeft, bottomLeft] = pair(byX[0]!, byX[1]!);
  const [topRight, bottomRight] = pair(byX[2]!, byX[3]!);
  return [topLeft, topRight, bottomRight, bottomLeft].flatMap((p) => [box[2 * p]!, box[2 * p + 1]!]);
}
