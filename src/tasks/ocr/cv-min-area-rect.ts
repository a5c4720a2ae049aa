/**
 * `cv2.minAreaRect` and `cv2.boxPoints` for integer point sets, computed the way OpenCV does:
 * convex hull, then rotating calipers in float32 arithmetic.
 *
 * Replicating the float32 steps and OpenCV's hull start/orientation matters when several
 * rectangles have (nearly) the same area — a square blob, an octagon — because OpenCV keeps the
 * last one its calipers visit; an ideal double-precision solver could pick another rectangle and
 * move a text box by pixels. `Math.fround` after every operation mirrors C++ `float` maths.
 */

const f = Math.fround;

/** OpenCV's `RotatedRect`: centre, side lengths and angle in degrees, all float32 values. */
export interface RotatedRect {
  readonly cx: number;
  readonly cy: number;
  readonly width: number;
  readonly height: number;
  readonly angle: number;
}

/** Minimal-area enclosing rectangle of the points `xy` (interleaved x,y). */
export function minAreaRect(xy: ArrayLike<number>): RotatedRect {
  const hull = convexHull(xy);
  const n = hull.length / 2;
  if (n > 2) return rotatingCalipers(hull);
  if (n === 2) {
    const dx = hull[2]! - hull[0]!;
    const dy = hull[3]! - hull[1]!;
    return {
      cx: f((hull[0]! + hull[2]!) * 0.5),
      cy: f((hull[1]! + hull[3]!) * 0.5),
      width: f(Math.sqrt(dx * dx + dy * dy)),
      height: 0,
      angle: f(f(f(Math.atan2(dy, dx)) * 180) / Math.PI),
    };
  }
  return { cx: n === 1 ? hull[0]! : 0, cy: n === 1 ? hull[1]! : 0, width: 0, height: 0, angle: 0 };
}

/** `cv2.boxPoints`: the four corners (x0,y0,…,x3,y3) in OpenCV's order, float32 values. */
export function boxPoints(rect: RotatedRect): Float32Array {
  const radians = (rect.angle * Math.PI) / 180;
  const b = f(f(Math.cos(radians)) * 0.5);
  const a = f(f(Math.sin(radians)) * 0.5);
  const { cx, cy, width: w, height: h } = rect;
  const x0 = f(f(cx - f(a * h)) - f(b * w));
  const y0 = f(f(cy + f(b * h)) - f(a * w));
  const x1 = f(f(cx + f(a * h)) - f(b * w));
  const y1 = f(f(cy - f(b * h)) - f(a * w));
  return Float32Array.of(x0, y0, x1, y1, f(f(2 * cx) - x0), f(f(2 * cy) - y0), f(f(2 * cx) - x1), f(f(2 * cy) - y1));
}

/**
 * Convex hull vertices (no collinear points) as interleaved coordinates, in the orientation and
 * with the first vertex that `cv2.convexHull(points, clockwise=False)` (what `minAreaRect` calls)
 * produces: OpenCV rotates the hull so that the input indices of its vertices ascend from the
 * smallest or descend from the largest when they can, else it starts at the rightmost point.
 */
function convexHull(xy: ArrayLike<number>): Float64Array {
  const count = xy.length / 2;
  const order = Array.from({ length: count }, (_, i) => i);
  order.sort((i, j) => xy[2 * i]! - xy[2 * j]! || xy[2 * i + 1]! - xy[2 * j + 1]! || i - j);
  const unique = order.filter((p, k) => k === 0 || xy[2 * p]! !== xy[2 * order[k - 1]!]! || xy[2 * p + 1]! !== xy[2 * order[k - 1]! + 1]!);
  // Degenerate hulls (one point, or all points on a line) run from the rightmost point.
  const degenerate = unique.length === 1 ? unique : [unique[unique.length - 1]!, unique[0]!];
  if (unique.length < 3) return hullCoords(xy, degenerate);

  // Andrew's monotone chain keeping only strict turns with cross > 0: with y pointing down this
  // is OpenCV's "counter-clockwise" hull (positive shoelace area).
  const cross = (o: number, a: number, b: number): number =>
    (xy[2 * a]! - xy[2 * o]!) * (xy[2 * b + 1]! - xy[2 * o + 1]!) - (xy[2 * a + 1]! - xy[2 * o + 1]!) * (xy[2 * b]! - xy[2 * o]!);
  const chain = (points: number[]): number[] => {
    const stack: number[] = [];
    for (const p of points) {
      while (stack.length >= 2 && cross(stack[stack.length - 2]!, stack[stack.length - 1]!, p) <= 0) stack.pop();
      stack.push(p);
    }
    stack.pop();
    return stack;
  };
  const hull = [...chain(unique), ...chain([...unique].reverse())];
  if (hull.length < 3) return hullCoords(xy, degenerate);
  return hullCoords(xy, rotateToOpenCvStart(hull, unique[unique.length - 1]!));
}

/** Cyclic shift: indices ascending from the minimum, descending from the maximum, else `fallback` first. */
function rotateToOpenCvStart(hull: number[], fallback: number): number[] {
  const n = hull.length;
  let rises = 0;
  let minAt = 0;
  let maxAt = 0;
  for (let i = 0; i < n; i++) {
    if (hull[i]! < hull[(i + 1) % n]!) rises++;
    if (hull[i]! < hull[minAt]!) minAt = i;
    if (hull[i]! > hull[maxAt]!) maxAt = i;
  }
  const start = rises === n - 1 ? minAt : rises === 1 ? maxAt : hull.indexOf(fallback);
  return [...hull.slice(start), ...hull.slice(0, start)];
}

function hullCoords(xy: ArrayLike<number>, indices: number[]): Float64Array {
  const out = new Float64Array(indices.length * 2);
  indices.forEach((p, k) => {
    out[2 * k] = f(xy[2 * p]!);
    out[2 * k + 1] = f(xy[2 * p + 1]!);
  });
  return out;
}

/** True when `v` points clockwise (as drawn with y up) of `w`, in float32 as OpenCV computes it. */
function isClockwiseOf(v: [number, number], w: [number, number]): boolean {
  return f(f(v[1] * w[0]) + f(-v[0] * w[1])) < 0;
}

/** OpenCV's rotating calipers (CALIPERS_MINAREARECT) over a hull of n > 2 float32 points. */
function rotatingCalipers(pts: Float64Array): RotatedRect {
  const n = pts.length / 2;
  const vx = new Float64Array(n);
  const vy = new Float64Array(n);
  const invLen = new Float64Array(n);
  let left = 0;
  let right = 0;
  let top = 0;
  let bottom = 0;
  let leftX = pts[0]!;
  let rightX = pts[0]!;
  let topY = pts[1]!;
  let bottomY = pts[1]!;
  for (let i = 0; i < n; i++) {
    const x = pts[2 * i]!;
    const y = pts[2 * i + 1]!;
    if (x < leftX) (leftX = x), (left = i);
    if (x > rightX) (rightX = x), (right = i);
    if (y > topY) (topY = y), (top = i);
    if (y < bottomY) (bottomY = y), (bottom = i);
    const j = (i + 1) % n;
    const dx = pts[2 * j]! - x;
    const dy = pts[2 * j + 1]! - y;
    vx[i] = f(dx);
    vy[i] = f(dy);
    invLen[i] = f(1 / Math.sqrt(dx * dx + dy * dy));
  }

  let orientation = 0;
  for (let i = 0, ax = vx[n - 1]!, ay = vy[n - 1]!; i < n; i++) {
    const convexity = ax * vy[i]! - ay * vx[i]!;
    if (convexity !== 0) {
      orientation = convexity > 0 ? 1 : -1;
      break;
    }
    ax = vx[i]!;
    ay = vy[i]!;
  }
  if (orientation === 0) throw new Error("minAreaRect: degenerate hull");

  // Caliper i touches hull vertex seq[i]; its side direction is the base (a,b) turned by i·90°.
  const seq = [bottom, right, top, left];
  let baseA = orientation;
  let baseB = 0;
  let minArea = Infinity;
  let best = { left: 0, a: 0, width: 0, b: 0, height: 0, bottom: 0 };
  for (let k = 0; k < n; k++) {
    // Each caliper's next hull edge, turned back into the frame of caliper 0. The caliper whose
    // edge lies furthest clockwise makes the smallest turn and rotates onto its edge.
    const turned = seq.map((v, i) => {
      const x = vx[v]!;
      const y = vy[v]!;
      return i === 0 ? [x, y] : i === 1 ? [y, -x] : i === 2 ? [-x, -y] : [-y, x];
    }) as [number, number][];
    let main = 0;
    for (let i = 1; i < 4; i++) if (isClockwiseOf(turned[i]!, turned[main]!)) main = i;
    const edge = seq[main]!;
    const leadX = f(vx[edge]! * invLen[edge]!);
    const leadY = f(vy[edge]! * invLen[edge]!);
    [baseA, baseB] = main === 0 ? [leadX, leadY] : main === 1 ? [leadY, -leadX] : main === 2 ? [-leadX, -leadY] : [-leadY, leadX];
    seq[main] = (seq[main]! + 1) % n;

    // Rectangle sides: left→right caliper distance along the base, bottom→top across it.
    const [s0, s1, s2, s3] = seq as [number, number, number, number];
    const wx = f(pts[2 * s1]! - pts[2 * s3]!);
    const wy = f(pts[2 * s1 + 1]! - pts[2 * s3 + 1]!);
    const width = f(f(wx * baseA) + f(wy * baseB));
    const hx = f(pts[2 * s2]! - pts[2 * s0]!);
    const hy = f(pts[2 * s2 + 1]! - pts[2 * s0 + 1]!);
    const height = f(f(-hx * baseB) + f(hy * baseA));
    const area = f(width * height);
    // `<=`: among equal areas OpenCV keeps the last rectangle visited.
    if (area <= minArea) {
      minArea = area;
      best = { left: s3, a: baseA, width, b: baseB, height, bottom: s0 };
    }
  }

  const a1 = best.a;
  const b1 = best.b;
  const a2 = -b1;
  const b2 = a1;
  const c1 = f(f(a1 * pts[2 * best.left]!) + f(pts[2 * best.left + 1]! * b1));
  const c2 = f(f(a2 * pts[2 * best.bottom]!) + f(pts[2 * best.bottom + 1]! * b2));
  const idet = f(1 / f(f(a1 * b2) - f(a2 * b1)));
  const px = f(f(f(c1 * b2) - f(c2 * b1)) * idet);
  const py = f(f(f(a1 * c2) - f(a2 * c1)) * idet);
  const sideX = f(a1 * best.width);
  const sideY = f(b1 * best.width);
  const upX = f(a2 * best.height);
  const upY = f(b2 * best.height);
  return {
    cx: f(px + f(f(sideX + upX) * 0.5)),
    cy: f(py + f(f(sideY + upY) * 0.5)),
    width: f(Math.sqrt(sideX * sideX + sideY * sideY)),
    height: f(Math.sqrt(upX * upX + upY * upY)),
    angle: f(f(f(Math.atan2(sideY, sideX)) * 180) / Math.PI),
  };
}
