/** Raising the HTTP and search threads: asked only below 0, a refusal said with how to allow it. */
import { describe, expect, test } from "bun:test";
import { readlinkSync } from "node:fs";
import { type Priority, raiseOwnPriority, raiseServingThread } from "../../src/runtime/thread-priority.ts";
import { captureLog } from "../support/log-capture.ts";

/** A priority API that records what it was asked and grants or refuses it. */
function recordingPriority(grant: boolean): Priority & { asked: Array<[number, number]> } {
  const asked: Array<[number, number]> = [];
  return {
    asked,
    get: () => 0,
    set: (tid, nice) => {
      asked.push([tid, nice]);
      return grant;
    },
  };
}

describe.skipIf(process.platform !== "linux")("raising the serving threads", () => {
  test("raiseOwnPriority asks for the nice on the calling thread and tells whether it was granted", () => {
    const tid = Number(readThreadSelf());
    const granting = recordingPriority(true);
    expect(raiseOwnPriority(-5, granting)).toBe(true);
    expect(granting.asked).toEqual([[tid, -5]]);
    const refusing = recordingPriority(false);
    expect(raiseOwnPriority(-5, refusing)).toBe(false);
    expect(refusing.asked).toEqual([[tid, -5]]);
  });

  test("nothing is asked for 0", () => {
    const p = recordingPriority(true);
    expect(raiseOwnPriority(0, p)).toBe(false);
    expect(captureLog("info", () => raiseServingThread(0, p))).toEqual([]);
    expect(p.asked).toEqual([]);
  });

  test("the HTTP thread's raise says nothing when granted; a refusal names the capability and the limit that allow it", () => {
    expect(captureLog("info", () => raiseServingThread(-5, recordingPriority(true)))).toEqual([]);
    const lines = captureLog("info", () => raiseServingThread(-5, recordingPriority(false)));
    expect(lines.length).toBe(1);
    expect(lines[0]).toContain("nice -5");
    expect(lines[0]).toContain("CAP_SYS_NICE");
    expect(lines[0]).toContain("RLIMIT_NICE of 25");
    expect(lines[0]).toContain("MACHINE_LEARNING_SEARCH_NICE=0");
  });
});

function readThreadSelf(): string {
  return readlinkSync("/proc/thread-self").split("/").at(-1)!;
}
