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
import { ScratchBytes } from "../../runtime/scratch-bytes.ts";
import { meanUnderPolygon } from "./box-score.ts";
import { emptyPaddedMask, findContoursInPadded, type PaddedMask } from "./cv-contours.ts";
import { boxPoints, minAreaRect } from "./cv-min-area-rect.ts";
import { readingOrder } from "./reading-order.ts";

/** Pixels above this probability form text regions (numpy compares in float32). */
const BINARY_THRESHOLD = Math.fround(0.3);
const THRESHOLD_BITS = new Uint32Array(Float32Array.of(BINARY_THRESHOLD).buffer)[0]!;
const INFINITY_BITS = 0x7f800000;
/** Runs shorter than this are set label by label: a fill's call costs more. */
const SHORT_RUN = 16;
/** The label map's work area (see ScratchBytes): the border following consumes it before the next call. */
const labelScratch = new ScratchBytes();
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
  const contours = findContoursInPadded(dilatedTextMask(pred, predWidth, predHeight)).slice(0, MAX_CANDIDATES);

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
 * `cv2.dilate(pred > 0.3, ones((2, 2)))`, laid out for border following (see {@link PaddedMask}).
 * With the anchor at the kernel's centre (its bottom-right cell), a pixel is set when it or its
 * left, upper or upper-left neighbour is above the threshold; so each pixel above it sets itself
 * and its right, lower and lower-right neighbours. Written that way round only the few pixels of
 * text write: most of a detector map is background.
 *
 * The map is read four values at a time as their float32 bit patterns: for a non-negative float
 * the pattern orders as the value does, OR-ing four patterns gives at least the largest and
 * AND-ing them at most the smallest. So when the OR, read unsigned, is at most the threshold's
 * pattern, all four are at most the threshold (background: skipped); when the AND is above it
 * and the OR at most +Infinity's (no sign bit, no NaN), all four are above it (a text line's
 * inside: consecutive such groups are set with one fill). Any other group (a line's end, a
 * negative value, a NaN) is compared value by value in float32, as numpy compares. 992x736 with
 * four lines: 0.64 ms value by value, 0.43 ms this way.
 *
 * The labels live in this module's scratch area: valid until the next call.
 */
export function dilatedTextMask(pred: Float32Array, width: number, height: number): PaddedMask {
  const bits = new Int32Array(pred.buffer, pred.byteOffset, width * height);
  const stride = width + 2;
  const padded = emptyPaddedMask(width, height, labelScratch);
  const { labels, rowHasPixels } = padded;
  for (let y = 0; y < height; y++) {
    const src = y * width;
    // Padded index of this row's pixel 0, and of the one below it.
    const here = (y + 1) * stride + 1;
    const below = here + stride;
    // Whole groups above the threshold (the inside of a text line) extend a run from `start`;
    // a run ending before pixel x sets [start, x] in this row and the one below.
    let start = -1;
    let text = false;
    for (let x = 0; x < width; x += 4) {
      const i = src + x;
      let any = 0xffffffff;
      if (x + 4 <= width) {
        any = (bits[i]! | bits[i + 1]! | bits[i + 2]! | bits[i + 3]!) >>> 0;
        if (any > THRESHOLD_BITS && any <= INFINITY_BITS && (bits[i]! & bits[i + 1]! & bits[i + 2]! & bits[i + 3]!) >>> 0 > THRESHOLD_BITS) {
          if (start < 0) start = x;
          continue;
        }
      }
      if (start >= 0) {
        setRun(labels, here + start, here + x, stride);
        text = true;
        start = -1;
      }
      if (any <= THRESHOLD_BITS) continue;
      // A group with text and background (a line's ends), or a value to compare as numpy does.
      for (let g = x, end = Math.min(x + 4, width); g < end; g++) {
        if (pred[src + g]! > BINARY_THRESHOLD) {
          // The padding column and row take the writes past the map's right and bottom edges.
          labels[here + g] = 1;
          labels[here + g + 1] = 1;
          labels[below + g] = 1;
          labels[below + g + 1] = 1;
          text = true;
        }
      }
    }
    if (start >= 0) {
      // A run reaching the right edge spills into the padding column.
      setRun(labels, here + start, here + width, stride);
      text = true;
    }
    if (text) {
      rowHasPixels[y + 1] = 1;
      rowHasPixels[y + 2] = 1;
    }
  }
  // What spilled into the padding is background to the border following: clear it.
  for (let y = 1; y <= height + 1; y++) labels[y * stride + width + 1] = 0;
  labels.fill(0, (height + 1) * stride);
  rowHasPixels[height + 1] = 0;
  return padded;
}

/** Sets labels `from`..`to` (inclusive) and the same `stride` below. */
function setRun(labels: Int8Array, from: number, to: number, stride: number): void {
  if (to - from < SHORT_RUN) {
    for (let at = from; at <= to; at++) {
      labels[at] = 1;
      labels[at + stride] = 1;
    }
  } else {
    labels.fill(1, from, to + 1);
    labels.fill(1, from + stride, to + stride + 1);
  }
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
