import { describe, expect, test } from "bun:test";
import { bucketRuns, largestBucket, threadShares } from "../../src/runtime/batch-buckets.ts";

describe("batch buckets", () => {
  test("the largest bucket is the largest power of two within the limit", () => {
    expect([1, 2, 3, 7, 8, 12, 16, 31].map(largestBucket)).toEqual([1, 2, 2, 4, 8, 8, 16, 16]);
    expect(() => largestBucket(0)).toThrow(RangeError);
  });

  test("a batch splits into power-of-two runs, largest first, that add up to it", () => {
    expect(bucketRuns(23, 16)).toEqual([16, 4, 2, 1]);
    expect(bucketRuns(3, 16)).toEqual([2, 1]);
    expect(bucketRuns(16, 16)).toEqual([16]);
    expect(bucketRuns(40, 16)).toEqual([16, 16, 8]);
    expect(bucketRuns(5, 1)).toEqual([1, 1, 1, 1, 1]);
    expect(bucketRuns(0, 8)).toEqual([]);
  });

  test("every count up to 64 uses only the few bucket sizes", () => {
    const sizes = new Set<number>();
    for (let count = 1; count <= 64; count++) {
      const runs = bucketRuns(count, 16);
      expect(runs.reduce((a, b) => a + b, 0)).toBe(count);
      runs.forEach((size) => sizes.add(size));
    }
    expect([...sizes].sort((a, b) => a - b)).toEqual([1, 2, 4, 8, 16]);
  });

  test("a batch is shared out among threads in near-equal runs, larger first, never an empty one", () => {
    expect(threadShares(5, 2)).toEqual([3, 2]);
    expect(threadShares(6, 2)).toEqual([3, 3]);
    expect(threadShares(7, 3)).toEqual([3, 2, 2]);
    expect(threadShares(1, 2)).toEqual([1]);
    expect(threadShares(4, 1)).toEqual([4]);
    expect(threadShares(0, 2)).toEqual([]);
    expect(() => threadShares(3, 0)).toThrow(RangeError);
  });
});
