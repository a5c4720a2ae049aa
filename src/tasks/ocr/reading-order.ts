/**
 * Upstream's `TextDetector.sorted_boxes`: the order in which detected lines are reported.
 *
 * Intended rule: sort by the top-left corner's y (stable), start a new line wherever two
 * consecutive y values differ by 10 px or more, then sort by (line, top-left x). Upstream's
 * numpy code, however, indexes the line numbers (already in y order) with the y-order
 * permutation a second time (`line_ids[y_order]`): the k-th box in y order gets the line number
 * of rank `y_order[k]` instead of rank k. Boxes arrive in OpenCV's contour order, roughly bottom
 * to top, and then separate lines come out bottom to top. The port reproduces this exactly; the
 * Immich server gives the order no meaning, and identical output keeps comparisons simple.
 */

/** The permutation that upstream's `sorted_boxes` applies to `boxes` (N×8, TL first). */
export function readingOrder(boxes: Float32Array): number[] {
  const n = boxes.length / 8;
  if (n === 0) return [];
  const topY = (i: number): number => boxes[i * 8 + 1]!;
  const topX = (i: number): number => boxes[i * 8]!;

  // Array.prototype.sort is stable, like numpy's kind="stable".
  const yOrder = Array.from({ length: n }, (_, i) => i).sort((a, b) => topY(a) - topY(b));
  const lineIds = new Int32Array(n);
  for (let k = 1; k < n; k++) {
    const gap = Math.abs(Math.fround(topY(yOrder[k]!) - topY(yOrder[k - 1]!)));
    lineIds[k] = lineIds[k - 1]! + (gap >= 10 ? 1 : 0);
  }
  const key = yOrder.map((box) => lineIds[box]! * 1e6 + topX(box));
  const finalOrder = Array.from({ length: n }, (_, k) => k).sort((a, b) => key[a]! - key[b]!);
  return finalOrder.map((k) => yOrder[k]!);
}
