import { describe, expect, test } from "bun:test";
import { defaultThreadLayout } from "../../src/runtime/thread-layout.ts";

describe("defaultThreadLayout", () => {
  test("the documented table, 1 to 16 cores", () => {
    const rows = [1, 2, 4, 8, 12, 16].map((cores) => {
      const l = defaultThreadLayout(cores);
      return [cores, l.inferenceThreads, l.intraOpThreads, l.searchIntraOpThreads, l.workers];
    });
    expect(rows).toEqual([
      [1, 2, 1, 1, 1],
      [2, 2, 1, 2, 1],
      [4, 2, 2, 2, 1],
      [8, 2, 4, 4, 2],
      [12, 3, 4, 4, 3],
      [16, 4, 4, 4, 4],
    ]);
  });

  test("concurrent sessions never ask for more threads than there are cores", () => {
    for (let cores = 2; cores <= 64; cores++) {
      const l = defaultThreadLayout(cores);
      expect(l.inferenceThreads * l.intraOpThreads).toBeLessThanOrEqual(cores);
      expect(l.interOpThreads).toBe(1);
    }
  });

  test("a search query's session takes at least 2 intra-op threads, never more than the cores", () => {
    for (let cores = 1; cores <= 64; cores++) {
      const l = defaultThreadLayout(cores);
      expect(l.searchIntraOpThreads).toBe(Math.min(cores, Math.max(2, l.intraOpThreads)));
    }
  });
});
