/** The search threads yield during a flood of queries and get their priority back a second after it. */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { BACKLOG_NICE, RESTORE_AFTER_MS } from "../../src/runtime/search-backlog.ts";
import { type Priority, SEARCH_THREAD_NAME, searchThreadsNiceSetter } from "../../src/runtime/thread-priority.ts";
import { recordingBacklog } from "../support/recording-backlog.ts";

describe("search backlog", () => {
  test("queries up to the threads that may run them keep their priority", () => {
    const { backlog, set } = recordingBacklog();
    for (const inFlight of [1, 2, 3, 2, 1, 0]) backlog.observe(inFlight, 3);
    expect(set).toEqual([]);
  });

  test("one query more than the threads lowers the search threads to the library scan's nice, once", () => {
    const { backlog, set } = recordingBacklog();
    backlog.observe(4, 3);
    backlog.observe(5, 3);
    backlog.observe(4, 3);
    expect(set).toEqual([BACKLOG_NICE]);
    expect(BACKLOG_NICE).toBe(10);
  });

  test("back to the quiet nice at the first look a second after the last backlogged moment, not before", () => {
    const { backlog, clock, set } = recordingBacklog(-5);
    backlog.observe(4, 3);
    clock.ms = 500;
    backlog.observe(4, 3); // still a backlog: the second counts from here
    clock.ms = 500 + RESTORE_AFTER_MS - 1;
    backlog.observe(1, 3);
    expect(set).toEqual([BACKLOG_NICE]);
    clock.ms = 500 + RESTORE_AFTER_MS;
    backlog.observe(1, 3);
    expect(set).toEqual([BACKLOG_NICE, -5]);
    // A new flood lowers them again.
    backlog.observe(4, 3);
    expect(set).toEqual([BACKLOG_NICE, -5, BACKLOG_NICE]);
  });
});

describe.skipIf(process.platform !== "linux")("setting the search threads' nice", () => {
  /** A priority API whose main thread reads `mainNice`, recording what it is asked to set. */
  function priorityWithMain(mainNice: number): Priority & { asked: Array<[number, number]> } {
    const asked: Array<[number, number]> = [];
    return {
      asked,
      get: (tid) => (tid === process.pid ? mainNice : 0),
      set: (tid, nice) => {
        asked.push([tid, nice]);
        return true;
      },
    };
  }

  test("none where the HTTP thread is not at the search nice (the OS refused the raise) or the nice is not below 0", () => {
    expect(searchThreadsNiceSetter(-3, priorityWithMain(0))).toBeNull();
    expect(searchThreadsNiceSetter(0, priorityWithMain(0))).toBeNull();
    expect(searchThreadsNiceSetter(-3, null)).toBeNull();
  });

  test("sets only the threads named as the search thread", async () => {
    const p = priorityWithMain(-3);
    const setter = searchThreadsNiceSetter(-3, p);
    expect(setter).not.toBeNull();
    setter!(10);
    expect(p.asked).toEqual([]); // no search thread in this process yet
    // A worker named as the search thread is one (its OS thread carries the name).
    const worker = new Worker(URL.createObjectURL(new Blob(["postMessage('up')"], { type: "application/javascript" })), { name: SEARCH_THREAD_NAME });
    await new Promise((resolve) => worker.addEventListener("message", resolve, { once: true }));
    try {
      setter!(10);
      // The worker's thread, and any thread it started by then, which inherits its name (as the
      // onnxruntime threads of the real search thread do): one or two here, depending on timing.
      expect(p.asked.length).toBeGreaterThanOrEqual(1);
      for (const [tid, nice] of p.asked) {
        expect(nice).toBe(10);
        expect(tid).not.toBe(process.pid);
        expect(readFileSync(`/proc/self/task/${tid}/comm`, "utf8").trim()).toBe(SEARCH_THREAD_NAME);
      }
    } finally {
      worker.terminate();
    }
  });
});
