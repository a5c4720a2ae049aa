/**
 * Greedy non-maximum suppression as insightface's RetinaFace runs it on SCRFD detections.
 *
 * Its conventions differ from most NMS code and decide which of two overlapping faces survive:
 * box sides count `+1` pixel (`(x2 - x1 + 1) * (y2 - y1 + 1)`), a box is dropped only when its IoU
 * with a kept box is strictly greater than the threshold, and all arithmetic is numpy float32
 * (the threshold too), which `Math.fround` reproduces step by step.
 */
const f = Math.fround;

/**
 * @param boxes x1 y1 x2 y2 per candidate (float32 values)
 * @param order candidate indices by descending score
 * @returns the kept candidate indices, in `order`'s order
 *
 * Suppressed candidates are flagged in place rather than filtered into a new list per kept box:
 * the same comparisons as insightface's loop, without copying the remaining list each time. The
 * caller bounds how many candidates come in (scrfd.ts), which bounds the quadratic worst case.
 */
export function greedyNms(boxes: ArrayLike<number>, order: readonly number[], iouThreshold: number): number[] {
  const threshold = f(iouThreshold);
  const area = (i: number): number => f(f(f(boxes[4 * i + 2]! - boxes[4 * i]!) + 1) * f(f(boxes[4 * i + 3]! - boxes[4 * i + 1]!) + 1));
  const areas = order.map(area);
  const suppressed = new Uint8Array(order.length);
  const keep: number[] = [];
  for (let a = 0; a < order.length; a++) {
    if (suppressed[a]) continue;
    const best = order[a]!;
    keep.push(best);
    const bestArea = areas[a]!;
    const [bx1, by1, bx2, by2] = [boxes[4 * best]!, boxes[4 * best + 1]!, boxes[4 * best + 2]!, boxes[4 * best + 3]!];
    for (let b = a + 1; b < order.length; b++) {
      if (suppressed[b]) continue;
      const j = order[b]!;
      const w = Math.max(0, f(f(Math.min(bx2, boxes[4 * j + 2]!) - Math.max(bx1, boxes[4 * j]!)) + 1));
      const h = Math.max(0, f(f(Math.min(by2, boxes[4 * j + 3]!) - Math.max(by1, boxes[4 * j + 1]!)) + 1));
      const inter = f(w * h);
      const iou = f(inter / f(f(bestArea + areas[b]!) - inter));
      // numpy keeps `iou <= threshold`; a NaN IoU (degenerate boxes) is therefore suppressed.
      if (!(iou <= threshold)) suppressed[b] = 1;
    }
  }
  return keep;
}
