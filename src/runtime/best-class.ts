/**
 * An output's last axis reduced to its most probable class per position, computed on the thread
 * that ran the model. A classifier's full output can be large (the PP-OCR recogniser: 18,385 class
 * probabilities per step, 17 MB for six lines) while its readers only want the winner of each
 * position: reducing it where the run happens spares copying it out of onnxruntime, moving it to
 * the main thread and scanning it there.
 */

/** Per position (every axis but the last): the winning class and its value. */
export interface BestClasses {
  readonly dims: readonly number[];
  readonly best: Int32Array;
  readonly score: Float32Array;
}

/** The largest value of each last-axis row and its index, the first on ties (as numpy's argmax). */
export function bestClasses(data: Float32Array, dims: readonly number[]): BestClasses {
  const classes = dims.at(-1) ?? 1;
  const positions = dims.slice(0, -1).reduce((a, b) => a * b, 1);
  if (dims.length === 0 || data.length !== positions * classes) {
    throw new Error(`bestClasses: ${data.length} values do not fill a ${dims.join("x")} output`);
  }
  const best = new Int32Array(positions);
  const score = new Float32Array(positions);
  for (let p = 0; p < positions; p++) {
    const base = p * classes;
    let winner = 0;
    let top = data[base]!;
    for (let c = 1; c < classes; c++) {
      const value = data[base + c]!;
      if (value > top) {
        top = value;
        winner = c;
      }
    }
    best[p] = winner;
    score[p] = top;
  }
  return { dims: dims.slice(0, -1), best, score };
}
