/**
 * Rounding as OpenCV's `cvRound`/`saturate_cast` and numpy's `round` do it: to the nearest
 * integer, ties to even (IEEE `rint`). `Math.round` sends ties towards +∞, which would shift
 * fixed-point weights and rounded face boxes by one unit on exact halves.
 */
export function roundHalfEven(value: number): number {
  const nearest = Math.round(value);
  return nearest - value === 0.5 && nearest % 2 !== 0 ? nearest - 1 : nearest;
}
