/** An output reduced to its best class per position (runtime/best-class.ts), as numpy's argmax/max would. */
import { describe, expect, test } from "bun:test";
import { bestClasses } from "../../src/runtime/best-class.ts";

describe("bestClasses", () => {
  test("keeps every axis but the last; per position the largest value and its index", () => {
    const data = new Float32Array([0.1, 0.7, 0.2, 0.5, 0.25, 0.25, -3, -1, -2, 0, 0, 9]);
    const { dims, best, score } = bestClasses(data, [2, 2, 3]);
    expect(dims).toEqual([2, 2]);
    expect(Array.from(best)).toEqual([1, 0, 1, 2]);
    expect(Array.from(score)).toEqual([Math.fround(0.7), 0.5, -1, 9]);
  });

  test("ties go to the first class, as numpy's argmax", () => {
    expect(Array.from(bestClasses(new Float32Array([0.4, 0.4, 0.2]), [1, 3]).best)).toEqual([0]);
    expect(Array.from(bestClasses(new Float32Array([0.1, 0.4, 0.4]), [1, 3]).best)).toEqual([1]);
  });

  test("an empty batch gives no positions; values that do not fill the shape are refused", () => {
    expect(bestClasses(new Float32Array(0), [0, 40, 18385]).best).toHaveLength(0);
    expect(() => bestClasses(new Float32Array(5), [2, 3])).toThrow("do not fill a 2x3 output");
    expect(() => bestClasses(new Float32Array(1), [])).toThrow();
  });
});
