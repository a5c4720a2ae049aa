/**
 * The bench's load arithmetic, which its throughput figures rest on: a load measured in parts
 * (saturation and the 2/2/1 mix run in two halves between the floor's windows) summarised as one,
 * and the stage timers' growth summed over the parts without the gap between them.
 */
import { describe, expect, test } from "bun:test";
import { type AutocannonRun, summarizeRuns } from "../../bench/lib.ts";
import { stageGrowth } from "../../bench/stage-profile.ts";

/** A run whose `completed` completions are evenly spaced over `spanSeconds` (first to last). */
function run(completed: number, spanSeconds: number, elapsedSeconds: number, latencies: number[] = []): AutocannonRun {
  return { latencies, completed, requestsPerSecond: completed > 1 ? (completed - 1) / spanSeconds : 0, elapsedSeconds, non2xx: 1, errors: 2 };
}

describe("summarizeRuns", () => {
  test("the steady-state rate is the intervals over the spans of all parts together, not the mean of their rates", () => {
    // 10 intervals in 10 s (1/s) and 4 in 2 s (2/s): 14 intervals in 12 s, where the mean of the
    // two rates would read 1.5.
    const load = summarizeRuns([run(11, 10, 10.5), run(5, 2, 2.5)]);
    expect(load.requestsPerSecond).toBeCloseTo(14 / 12, 12);
    expect(load.completed).toBe(16);
    expect(load.elapsedSeconds).toBe(13);
    expect(load.non2xx).toBe(2);
    expect(load.errors).toBe(4);
  });

  test("a part with no interval adds its completions and time but not to the rate", () => {
    const load = summarizeRuns([run(11, 10, 10.5), run(1, 0, 7.5), run(0, 0, 7.5)]);
    expect(load.requestsPerSecond).toBeCloseTo(1, 12);
    expect(load.completed).toBe(12);
    expect(load.elapsedSeconds).toBe(25.5);
  });

  test("percentiles over the parts' latencies pooled", () => {
    const load = summarizeRuns([run(3, 1, 1, [10, 20, 30]), run(2, 1, 1, [40, 50])]);
    // Sorted 10..50: the 50th percentile of five is the third, the 99th the last.
    expect(load.p50ms).toBe(30);
    expect(load.p99ms).toBe(50);
  });
});

describe("stageGrowth", () => {
  test("each timer's growth within the windows, summed; what happened between them left out", () => {
    const first = [{ "run|x": { seconds: 1, count: 2 } }, { "run|x": { seconds: 3, count: 5 } }] as const;
    // Between the windows the timer grew from 3 s / 5 to 4 s / 6: not counted.
    const second = [{ "run|x": { seconds: 4, count: 6 } }, { "run|x": { seconds: 4.5, count: 8 }, "run|y": { seconds: 0.25, count: 1 } }] as const;
    expect(stageGrowth([first, second])).toEqual({ "run|x": { seconds: 2.5, count: 5 }, "run|y": { seconds: 0.25, count: 1 } });
  });
});
