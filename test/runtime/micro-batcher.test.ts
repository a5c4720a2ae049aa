import { describe, expect, test } from "bun:test";
import { MicroBatcher } from "../../src/runtime/micro-batcher.ts";
import { AbandonedError, requestSignal, withinRequest } from "../../src/runtime/request-scope.ts";
import { waitUntil } from "../support/wait-until.ts";

/** A batch runner that records each batch and finishes only when the test releases it. */
function controlledRunner() {
  const batches: number[][] = [];
  const releases: Array<() => void> = [];
  const run = (items: number[]) => {
    batches.push(items);
    return new Promise<string[]>((resolve) => releases.push(() => resolve(items.map((n) => `out${n}`))));
  };
  const releaseNext = async () => {
    releases.shift()!();
    await Bun.sleep(0);
  };
  return { batches, run, releaseNext };
}

describe("MicroBatcher", () => {
  test("a lone submission runs at once, all its items in one run", async () => {
    const runner = controlledRunner();
    const batcher = new MicroBatcher(runner.run, { maxBatch: undefined, maxWaitMs: 0, maxRuns: 1 });
    const result = batcher.submit([1, 2, 3]);
    expect(runner.batches).toEqual([[1, 2, 3]]);
    await runner.releaseNext();
    expect(await result).toEqual(["out1", "out2", "out3"]);
  });

  test("items submitted during a run go together in the next run, each request gets its own outputs", async () => {
    const runner = controlledRunner();
    const batcher = new MicroBatcher(runner.run, { maxBatch: undefined, maxWaitMs: 0, maxRuns: 1 });
    const first = batcher.submit([1]);
    const second = batcher.submit([2, 3]);
    const third = batcher.submit([4]);
    expect(runner.batches).toEqual([[1]]);
    await runner.releaseNext();
    expect(runner.batches).toEqual([[1], [2, 3, 4]]);
    await runner.releaseNext();
    expect(await first).toEqual(["out1"]);
    expect(await second).toEqual(["out2", "out3"]);
    expect(await third).toEqual(["out4"]);
  });

  test("maxBatch splits the queue over consecutive runs, in submission order", async () => {
    const runner = controlledRunner();
    const batcher = new MicroBatcher(runner.run, { maxBatch: 2, maxWaitMs: 0, maxRuns: 1 });
    const big = batcher.submit([1, 2, 3, 4, 5]);
    const small = batcher.submit([6]);
    for (let i = 0; i < 3; i++) await runner.releaseNext();
    expect(runner.batches).toEqual([
      [1, 2],
      [3, 4],
      [5, 6],
    ]);
    expect(await big).toEqual(["out1", "out2", "out3", "out4", "out5"]);
    expect(await small).toEqual(["out6"]);
  });

  test("a batch axis fixed to 1 runs one item per run", async () => {
    const runner = controlledRunner();
    const batcher = new MicroBatcher(runner.run, { maxBatch: 1, maxWaitMs: 0, maxRuns: 1 });
    const result = batcher.submit([1, 2]);
    await runner.releaseNext();
    await runner.releaseNext();
    expect(runner.batches).toEqual([[1], [2]]);
    expect(await result).toEqual(["out1", "out2"]);
  });

  test("with maxWait, submissions made while nothing runs are gathered into one run", async () => {
    const runner = controlledRunner();
    const batcher = new MicroBatcher(runner.run, { maxBatch: undefined, maxWaitMs: 5, maxRuns: 1 });
    const first = batcher.submit([1]);
    const second = batcher.submit([2]);
    expect(runner.batches).toEqual([]);
    await waitUntil(() => runner.batches.length > 0, "the gathered run");
    expect(runner.batches).toEqual([[1, 2]]);
    await runner.releaseNext();
    expect([await first, await second]).toEqual([["out1"], ["out2"]]);
  });

  test("a full batch does not wait", () => {
    const runner = controlledRunner();
    const batcher = new MicroBatcher(runner.run, { maxBatch: 2, maxWaitMs: 60_000, maxRuns: 1 });
    void batcher.submit([1, 2]);
    expect(runner.batches).toEqual([[1, 2]]);
  });

  test("a failed run fails the requests in it; the next run goes on", async () => {
    let calls = 0;
    const batcher = new MicroBatcher(
      async (items: number[]) => {
        calls++;
        if (calls === 1) throw new Error("session failed");
        return items.map((n) => n * 10);
      },
      { maxBatch: 1, maxWaitMs: 0, maxRuns: 1 },
    );
    const failed = batcher.submit([1]);
    const fine = batcher.submit([2]);
    await expect(failed).rejects.toThrow("session failed");
    expect(await fine).toEqual([20]);
  });

  test("a runner returning the wrong number of outputs is an error, not a silent mismatch", async () => {
    const batcher = new MicroBatcher(async (items: number[]) => items.slice(1), { maxBatch: undefined, maxWaitMs: 0, maxRuns: 1 });
    await expect(batcher.submit([1, 2])).rejects.toThrow("batch of 2 items gave 1 outputs");
  });

  test("maxBatch or maxRuns below 1 is refused", () => {
    expect(() => new MicroBatcher(async (items: number[]) => items, { maxBatch: 0, maxWaitMs: 0, maxRuns: 1 })).toThrow(RangeError);
    expect(() => new MicroBatcher(async (items: number[]) => items, { maxBatch: 2, maxWaitMs: 0, maxRuns: 0 })).toThrow(RangeError);
  });

  test("items of a request abandoned while they waited are dropped; the shared run belongs to no request", async () => {
    const runner = controlledRunner();
    const signalsSeen: Array<AbortSignal | undefined> = [];
    const batcher = new MicroBatcher(
      (items: number[]) => {
        signalsSeen.push(requestSignal());
        return runner.run(items);
      },
      { maxBatch: undefined, maxWaitMs: 0, maxRuns: 1 },
    );
    const first = new AbortController();
    const second = new AbortController();
    const third = new AbortController();
    const running = withinRequest(first.signal, () => batcher.submit([1]));
    const abandoned = withinRequest(second.signal, () => batcher.submit([2, 3])).catch((error: unknown) => error);
    const kept = withinRequest(third.signal, () => batcher.submit([4]));
    second.abort();
    first.abort(); // already running: its run goes on, as onnxruntime's would
    await runner.releaseNext();
    expect(runner.batches).toEqual([[1], [4]]);
    expect(await running).toEqual(["out1"]);
    expect(await abandoned).toBeInstanceOf(AbandonedError);
    await runner.releaseNext();
    expect(await kept).toEqual(["out4"]);
    expect(signalsSeen).toEqual([undefined, undefined]);
  });

  describe("with two runs at once (two inference threads)", () => {
    test("a lone request's items are shared out between the free slots, each half in its own run", async () => {
      const runner = controlledRunner();
      const batcher = new MicroBatcher(runner.run, { maxBatch: 16, maxWaitMs: 0, maxRuns: 2 });
      const result = batcher.submit([1, 2, 3, 4, 5]);
      expect(runner.batches).toEqual([
        [1, 2, 3],
        [4, 5],
      ]);
      await runner.releaseNext();
      await runner.releaseNext();
      expect(await result).toEqual(["out1", "out2", "out3", "out4", "out5"]);
    });

    test("with both slots busy, items wait and go together in the first slot to come free", async () => {
      const runner = controlledRunner();
      const batcher = new MicroBatcher(runner.run, { maxBatch: 16, maxWaitMs: 0, maxRuns: 2 });
      const first = batcher.submit([1, 2, 3, 4]);
      expect(runner.batches).toEqual([
        [1, 2],
        [3, 4],
      ]);
      const second = batcher.submit([5]);
      const third = batcher.submit([6, 7]);
      expect(runner.batches.length).toBe(2);
      await runner.releaseNext();
      expect(runner.batches.at(-1)).toEqual([5, 6, 7]);
      for (let i = 0; i < 2; i++) await runner.releaseNext();
      expect([await first, await second, await third]).toEqual([["out1", "out2", "out3", "out4"], ["out5"], ["out6", "out7"]]);
    });

    test("beside a run a free slot starts at once, however long maxWait is", async () => {
      const runner = controlledRunner();
      const batcher = new MicroBatcher(runner.run, { maxBatch: 2, maxWaitMs: 60_000, maxRuns: 2 });
      void batcher.submit([1, 2, 3]); // more than a full batch: no wait, shared out
      expect(runner.batches).toEqual([[1, 2], [3]]);
      await runner.releaseNext();
      const late = batcher.submit([4]);
      expect(runner.batches.at(-1)).toEqual([4]);
      await runner.releaseNext();
      await runner.releaseNext();
      expect(await late).toEqual(["out4"]);
    });

    test("a request's items are shared out only among the runs that would start now", () => {
      const runner = controlledRunner();
      let idle = 1;
      const batcher = new MicroBatcher(runner.run, { maxBatch: 16, maxWaitMs: 0, maxRuns: 2, startableRuns: () => idle });
      // One inference thread busy with another model: both halves would not start, so one run.
      void batcher.submit([1, 2, 3, 4]);
      expect(runner.batches).toEqual([[1, 2, 3, 4]]);
      // Both threads busy: still one run, which waits for a thread.
      idle = 0;
      void batcher.submit([5, 6]);
      expect(runner.batches).toEqual([
        [1, 2, 3, 4],
        [5, 6],
      ]);
    });

    test("with every thread idle, a request's items are shared out as without the hint", () => {
      const runner = controlledRunner();
      const batcher = new MicroBatcher(runner.run, { maxBatch: 16, maxWaitMs: 0, maxRuns: 2, startableRuns: () => 2 });
      void batcher.submit([1, 2, 3, 4]);
      expect(runner.batches).toEqual([
        [1, 2],
        [3, 4],
      ]);
    });

    test("maxBatch still caps each share", () => {
      const runner = controlledRunner();
      const batcher = new MicroBatcher(runner.run, { maxBatch: 2, maxWaitMs: 0, maxRuns: 2 });
      void batcher.submit([1, 2, 3, 4, 5, 6]);
      expect(runner.batches).toEqual([
        [1, 2],
        [3, 4],
      ]);
    });
  });
});
