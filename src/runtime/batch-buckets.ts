/**
 * Batch sizes for a session whose graph takes a batch axis, so that it sees only a handful of
 * input shapes, whose blocks the arena reuses run after run: an arena keeps the memory its runs
 * asked for, so a session run at every face count from 1 to 40 leaves blocks of every size
 * (upstream's #31675, where the arena grew with each new count). A batch of `count` items is split into
 * runs whose sizes are powers of two, largest first (23 faces under a bucket of 16: 16 + 4 + 2 + 1),
 * rather than padded up to the next size: padding would compute throwaway items (3 faces run as 4
 * cost a third more), while each extra run costs only its call. Each item's output is the same
 * whatever it was batched with, so splitting changes no result.
 */

/** The largest batch size when none is configured: at most log2(16) + 1 = 5 shapes. */
export const DEFAULT_LARGEST_BUCKET = 16;

/** The largest power of two ≤ `maxBatch` (itself ≥ 1). */
export function largestBucket(maxBatch: number): number {
  if (!(maxBatch >= 1)) throw new RangeError(`maxBatch must be at least 1, got ${maxBatch}`);
  return 2 ** Math.floor(Math.log2(maxBatch));
}

/** The sizes of the runs `count` items go in, each a power of two ≤ `largest`, largest first. */
export function bucketRuns(count: number, largest: number): number[] {
  const runs: number[] = [];
  let left = count;
  for (let size = largest; left > 0; size = Math.max(1, size / 2)) {
    while (left >= size) {
      runs.push(size);
      left -= size;
    }
  }
  return runs;
}

/**
 * The sizes of the runs one batch is shared out in among `threads` inference threads: as equal as
 * can be, larger first (5 items on 2 threads: 3 + 2), one run per thread at most and never an
 * empty one. For a session whose items' outputs do not depend on their batch companions, so that a
 * lone request's batch keeps every idle thread busy instead of one.
 */
export function threadShares(count: number, threads: number): number[] {
  if (!(threads >= 1)) throw new RangeError(`threads must be at least 1, got ${threads}`);
  const runs = Math.min(count, threads);
  return Array.from({ length: runs }, (_, i) => Math.floor(count / runs) + (i < count % runs ? 1 : 0));
}
