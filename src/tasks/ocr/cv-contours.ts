/**
 * `cv2.findContours(bitmap, RETR_LIST, CHAIN_APPROX_SIMPLE)` for a binary mask, reproducing
 * OpenCV's point lists and list order.
 *
 * Upstream's DB post-processing turns every contour into a candidate box, keeps only the first
 * 1000, and its reading-order sort depends on the order candidates arrive in, so both the
 * points and the order have to match OpenCV, not just "some" border tracing. OpenCV implements
 * Suzuki & Abe's border following (8-connected foreground) with these conventions:
 *   - the mask is padded with one row/column of background, so image edges are ordinary borders;
 *   - a raster scan starts an outer border at a 0→1 step onto an unvisited pixel and a hole
 *     border at a foreground→0 step (the hole border starts on the foreground pixel);
 *   - traced pixels are relabelled: "right-edge" pixels (background to their right) get a
 *     negative label, others 2, which stops them from starting borders again;
 *   - CHAIN_APPROX_SIMPLE emits a point only where the chain direction changes (the start
 *     point is always emitted);
 *   - the finished list is in reverse discovery order (OpenCV links each new contour in front).
 */

import { type ScratchBytes, zeroedWords } from "../../runtime/scratch-bytes.ts";

/** Chain direction `s` → neighbour offset: 0 = +x, then counter-clockwise as seen on screen. */
const DIR_X = [1, 1, 0, -1, -1, -1, 0, 1] as const;
const DIR_Y = [0, -1, -1, -1, 0, 1, 1, 1] as const;

const UNVISITED = 1;
const VISITED = 2;
/** Label of a traced pixel whose right neighbour is background (OpenCV: `nbd | 0x80`). */
const RIGHT_EDGE = -126;

/**
 * A binary mask laid out for border following: `labels` is `(width + 2)`×`(height + 2)`, the
 * mask inside one row/column of background, 1 where the mask is set and 0 elsewhere;
 * `rowHasPixels[y]` is non-zero when padded row `y` holds a set pixel. The DB post-processing
 * builds one straight from the detector's map (one pass instead of a mask and then this).
 */
export interface PaddedMask {
  readonly labels: Int8Array;
  readonly rowHasPixels: Uint8Array;
  readonly width: number;
  readonly height: number;
}

/**
 * An all-background {@link PaddedMask}, its labels in `scratch` when given. The labels start at
 * their buffer's first byte and the buffer is a whole number of 4-byte words, so that the scan
 * can read four labels at once.
 */
export function emptyPaddedMask(width: number, height: number, scratch?: ScratchBytes): PaddedMask {
  const length = (width + 2) * (height + 2);
  const bytes = scratch ? scratch.zeroed(length) : zeroedWords(length);
  return { labels: new Int8Array(bytes.buffer, 0, length), rowHasPixels: new Uint8Array(height + 2), width, height };
}

/** `mask` (`width`×`height`, row-major, non-zero = set) as a {@link PaddedMask}. */
export function padMask(mask: Uint8Array, width: number, height: number): PaddedMask {
  const padded = emptyPaddedMask(width, height);
  const { labels, rowHasPixels } = padded;
  const stride = width + 2;
  for (let y = 0; y < height; y++) {
    const row = (y + 1) * stride + 1;
    let any = 0;
    for (let x = 0, m = y * width; x < width; x++, m++) {
      if (mask[m] !== 0) {
        labels[row + x] = UNVISITED;
        any = 1;
      }
    }
    rowHasPixels[y + 1] = any;
  }
  return padded;
}

/**
 * Traces all borders of the non-zero pixels of `mask` (`width`×`height`, row-major).
 * Returns each contour as interleaved x,y pixel coordinates.
 */
export function findContoursSimple(mask: Uint8Array, width: number, height: number): Int32Array[] {
  return findContoursInPadded(padMask(mask, width, height));
}

/** {@link findContoursSimple} on a padded mask, whose labels it rewrites as it traces. */
export function findContoursInPadded({ labels, rowHasPixels, width, height }: PaddedMask): Int32Array[] {
  const stride = width + 2;
  // Neighbour offsets repeated twice so a search may run up to 15 steps without wrapping.
  const step = new Int32Array(16);
  for (let s = 0; s < 16; s++) step[s] = DIR_X[s & 7]! + DIR_Y[s & 7]! * stride;

  // Four labels at once where the scan is word-aligned (emptyPaddedMask's buffer).
  const words = new Int32Array(labels.buffer, 0, labels.buffer.byteLength >> 2);
  const found: Int32Array[] = [];
  for (let y = 1; y <= height; y++) {
    // Rows without a set pixel have no border to start and are never relabelled (most of a
    // detector map is background).
    if (rowHasPixels[y] === 0) continue;
    const rowStart = y * stride;
    const last = rowStart + width + 1;
    let prev = 0;
    let prevWord = 0;
    for (let at = rowStart + 1; at <= last; at++) {
      // Four labels equal to the last one start no border (the inside of a text region).
      if ((at & 3) === 0 && at + 3 <= last && words[at >> 2] === prevWord) {
        at += 3;
        continue;
      }
      const p = labels[at]!;
      if (p === prev) continue;
      const x = at - rowStart;
      if (prev === 0 && p === UNVISITED) {
        found.push(traceBorder(labels, step, at, x, y, false));
      } else if (p === 0 && prev >= UNVISITED) {
        found.push(traceBorder(labels, step, at - 1, x - 1, y, true));
      }
      // Tracing may have relabelled this pixel; the scan must compare against the new label.
      prev = labels[at]!;
      prevWord = ((prev & 0xff) * 0x01010101) | 0;
    }
  }
  return found.reverse();
}

/** Follows one border from pixel `start` (padded coordinates `sx`,`sy`), labelling it. */
function traceBorder(labels: Int8Array, step: Int32Array, start: number, sx: number, sy: number, hole: boolean): Int32Array {
  const points: number[] = [];
  // Search clockwise from the background side for the first foreground neighbour.
  const first = hole ? 0 : 4;
  let s = first;
  let next: number;
  do {
    s = (s - 1) & 7;
    next = start + step[s]!;
  } while (labels[next] === 0 && s !== first);

  if (s === first) {
    labels[start] = RIGHT_EDGE; // isolated pixel
    return Int32Array.of(sx - 1, sy - 1);
  }

  const second = next;
  let px = sx;
  let py = sy;
  let current = start;
  let prevDir = s ^ 4;
  for (;;) {
    const from = s;
    // Counter-clockwise search for the next border pixel, starting just after `from`.
    let candidate = current;
    while (s < 15) {
      candidate = current + step[++s]!;
      if (labels[candidate] !== 0) break;
    }
    s &= 7;
    // The search went past direction 0 (the right neighbour), which is therefore background.
    if (s - 1 >= 0 && s - 1 < from) labels[current] = RIGHT_EDGE;
    else if (labels[current] === UNVISITED) labels[current] = VISITED;

    if (s !== prevDir) {
      points.push(px - 1, py - 1);
      prevDir = s;
    }
    px += DIR_X[s]!;
    py += DIR_Y[s]!;

    if (candidate === start && current === second) break;
    current = candidate;
    s = (s + 4) & 7;
  }
  return Int32Array.from(points);
}
