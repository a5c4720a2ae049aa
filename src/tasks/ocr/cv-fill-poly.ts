/**
 * `cv2.fillPoly(mask, [points], 1)` for one polygon with integer vertices (LINE_8, shift 0), pixel
 * for pixel as OpenCV rasterises it.
 *
 * DB box scores are means of the probability map under such a mask, and a score close to the
 * box threshold decides whether a text line exists at all, so the covered pixels must be
 * OpenCV's. OpenCV's fill is the union of two things:
 *   - every edge drawn as an 8-connected Bresenham line (clipped to the image first);
 *   - an even-odd scanline fill in 16.16 fixed point: each edge advances by a truncated per-row
 *     slope over rows y0 ≤ y < y1, and a span covers the pixels from ceil(left) to floor(right).
 *     An edge with an end outside the image takes its slope from the clipped segment.
 * The clipped-slope rule is current OpenCV's (verified against 5.0; upstream pins 4.14). OpenCV
 * 4.6 used the unclipped ends; the two differ only for polygons reaching outside the mask.
 */

const SHIFT = 16;
const ONE = 2 ** SHIFT;

interface Edge {
  readonly y0: number;
  readonly y1: number;
  /** Fixed-point x at row y0. */
  readonly x: number;
  /** Fixed-point x increment per row (integer division, truncated toward zero). */
  readonly dx: number;
}

/** Sets to 1 the pixels of `mask` (`width`×`height`) covered by the polygon `xy` (interleaved, integers). */
export function fillPolygon(mask: Uint8Array, width: number, height: number, xy: ArrayLike<number>): void {
  const count = xy.length / 2;
  const edges: Edge[] = [];
  let px = xy[2 * (count - 1)]!;
  let py = xy[2 * (count - 1) + 1]!;
  for (let i = 0; i < count; i++) {
    const qx = xy[2 * i]!;
    const qy = xy[2 * i + 1]!;
    drawLine(mask, width, height, px, py, qx, qy);
    const edge = scanEdge(width, height, px, py, qx, qy);
    if (edge) edges.push(edge);
    px = qx;
    py = qy;
  }
  fillEdges(mask, width, height, edges);
}

function scanEdge(width: number, height: number, x0: number, y0: number, x1: number, y1: number): Edge | undefined {
  if (y0 === y1) return undefined;
  // The slope comes from the clipped segment (OpenCV clips even an edge wholly outside the
  // image, and keeps the original rows when the clipped segment is horizontal).
  let [ax, ay, bx, by] = [x0, y0, x1, y1];
  if (!inside(width, height, x0, y0) || !inside(width, height, x1, y1)) {
    const clipped = clipLine(width, height, x0, y0, x1, y1);
    [ax, bx] = [clipped[0], clipped[2]];
    if (clipped[1] !== clipped[3]) [ay, by] = [clipped[1], clipped[3]];
  }
  ax *= ONE;
  bx *= ONE;
  const dx = Math.trunc((bx - ax) / (by - ay));
  return y0 < y1 ? { y0, y1, x: ax + (y0 - ay) * dx, dx } : { y0: y1, y1: y0, x: bx + (y1 - by) * dx, dx };
}

function fillEdges(mask: Uint8Array, width: number, height: number, edges: Edge[]): void {
  if (edges.length < 2) return;
  let yMin = Infinity;
  let yMax = -Infinity;
  let xMin = Infinity;
  let xMax = -Infinity;
  for (const e of edges) {
    const xEnd = e.x + (e.y1 - e.y0) * e.dx;
    yMin = Math.min(yMin, e.y0);
    yMax = Math.max(yMax, e.y1);
    xMin = Math.min(xMin, e.x, xEnd);
    xMax = Math.max(xMax, e.x, xEnd);
  }
  if (yMax < 0 || yMin >= height || xMax < 0 || xMin >= width * ONE) return;

  const xs: number[] = [];
  for (let y = Math.max(yMin, 0); y < Math.min(yMax, height); y++) {
    xs.length = 0;
    for (const e of edges) if (e.y0 <= y && y < e.y1) xs.push(e.x + (y - e.y0) * e.dx);
    xs.sort((a, b) => a - b);
    const row = y * width;
    for (let k = 0; k + 1 < xs.length; k += 2) {
      const from = Math.max(Math.floor((xs[k]! + ONE - 1) / ONE), 0);
      const to = Math.min(Math.floor(xs[k + 1]! / ONE), width - 1);
      if (from >= width || to < 0) continue;
      mask.fill(1, row + from, row + to + 1);
    }
  }
}

function inside(width: number, height: number, x: number, y: number): boolean {
  return x >= 0 && x < width && y >= 0 && y < height;
}

/** 8-connected Bresenham line from the leftmost end, as OpenCV's LineIterator walks it. */
function drawLine(mask: Uint8Array, width: number, height: number, x0: number, y0: number, x1: number, y1: number): void {
  if (!inside(width, height, x0, y0) || !inside(width, height, x1, y1)) {
    const c = clipLine(width, height, x0, y0, x1, y1);
    if (!c.inside) return;
    [x0, y0, x1, y1] = c;
  }
  if (x1 < x0) [x0, y0, x1, y1] = [x1, y1, x0, y0];
  let major = x1 - x0;
  let minor = y1 - y0;
  const stepX = 1;
  const stepY = minor < 0 ? -1 : 1;
  minor = Math.abs(minor);
  const vertical = minor > major;
  if (vertical) [major, minor] = [minor, major];
  let err = major - 2 * minor;
  let x = x0;
  let y = y0;
  for (let i = 0; i <= major; i++) {
    mask[y * width + x] = 1;
    const diagonal = err < 0;
    err += diagonal ? 2 * major - 2 * minor : -2 * minor;
    if (vertical) {
      y += stepY;
      if (diagonal) x += stepX;
    } else {
      x += stepX;
      if (diagonal) y += stepY;
    }
  }
}

type Clipped = [number, number, number, number] & { inside: boolean };

/** OpenCV's `clipLine`: Cohen–Sutherland against [0,w-1]×[0,h-1] with truncated intercepts. */
function clipLine(width: number, height: number, x1: number, y1: number, x2: number, y2: number): Clipped {
  const right = width - 1;
  const bottom = height - 1;
  const code = (x: number, y: number): number => (x < 0 ? 1 : 0) + (x > right ? 2 : 0) + (y < 0 ? 4 : 0) + (y > bottom ? 8 : 0);
  let c1 = code(x1, y1);
  let c2 = code(x2, y2);
  if ((c1 & c2) === 0 && (c1 | c2) !== 0) {
    if (c1 & 12) {
      const a = c1 < 8 ? 0 : bottom;
      x1 += Math.trunc(((a - y1) * (x2 - x1)) / (y2 - y1));
      y1 = a;
      c1 = (x1 < 0 ? 1 : 0) + (x1 > right ? 2 : 0);
    }
    if (c2 & 12) {
      const a = c2 < 8 ? 0 : bottom;
      x2 += Math.trunc(((a - y2) * (x2 - x1)) / (y2 - y1));
      y2 = a;
      c2 = (x2 < 0 ? 1 : 0) + (x2 > right ? 2 : 0);
    }
    if ((c1 & c2) === 0 && (c1 | c2) !== 0) {
      if (c1) {
        const a = c1 === 1 ? 0 : right;
        y1 += Math.trunc(((a - x1) * (y2 - y1)) / (x2 - x1));
        x1 = a;
        c1 = 0;
      }
      if (c2) {
        const a = c2 === 1 ? 0 : right;
        y2 += Math.trunc(((a - x2) * (y2 - y1)) / (x2 - x1));
        x2 = a;
        c2 = 0;
      }
    }
  }
  return Object.assign([x1, y1, x2, y2] as [number, number, number, number], { inside: (c1 | c2) === 0 });
}
