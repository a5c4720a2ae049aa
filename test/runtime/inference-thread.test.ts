/**
 * The inference thread's queue, driven through its real message protocol (runtime/thread-jobs.ts): runs
 * are handled one at a time in arrival order; a run whose request was abandoned before it started
 * is skipped. Through the service's dispatcher (onnx-session.ts): interactive sessions (search
 * queries) run on the search thread, never behind scan runs, at normal priority; one model's runs
 * spread over every scan thread the layout allows. Feeds in shared memory (pooled tensors) are
 * read in place, by C-API and onnxruntime-node sessions alike.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import * as ort from "onnxruntime-node";
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  InferenceThreads,
  OnnxSession,
  ownedFeed,
  sessionSettingsFor,
  type Feed,
  type OutputTensor,
  type SessionRequest,
  type SessionSettings,
} from "../../src/runtime/onnx-session.ts";
import { INTERACTIVE_SPIN_MICROSECONDS } from "../../src/runtime/intra-op-spin.ts";
import { BACKLOG_NICE, RESTORE_AFTER_MS } from "../../src/runtime/search-backlog.ts";
import { runHostedSession } from "../../src/runtime/session-host.ts";
import { processClockMs } from "../../src/runtime/stage-timing.ts";
import type { WorkerReply } from "../../src/runtime/worker-protocol.ts";
import { clipTextualModel, heavyVisualModel } from "../support/onnx-builder.ts";
import { recordingBacklog } from "../support/recording-backlog.ts";
import { tempDir } from "../support/temp.ts";

// Each scenario runs the 24-layer stand-in several times (up to three attempts on a busy machine).
setDefaultTimeout(15_000);

const SETTINGS: SessionSettings = { inferenceThreads: 1, intraOpThreads: 1, interOpThreads: 1, arena: false, deviceId: "0" };

let worker: Worker;
let nextId = 1;
const replies = new Map<number, (reply: WorkerReply) => void>();
let order: string[] = [];

function post(session: SessionRequest, label: string): Promise<WorkerReply> {
  const id = nextId++;
  return new Promise((resolve) => {
    replies.set(id, (reply) => {
      order.push(label);
      resolve(reply);
    });
    worker.postMessage({ id, session });
  });
}

const imageFeed = (): Record<string, Feed> => ({ image: { type: "float32", data: new Float32Array(3 * 224 * 224).fill(0.5), dims: [1, 3, 224, 224] } });
const textFeed = (): Record<string, Feed> => ({ text: { type: "int32", data: new Int32Array(77).fill(7), dims: [1, 77] } });

let slow: number;
let outputNames: string[];
let dir: string;
const run = (abandon?: Int32Array): SessionRequest => ({ op: "run", session: slow, shared: true, outputNames, feeds: imageFeed(), abandon });

beforeAll(async () => {
  dir = tempDir();
  writeFileSync(join(dir, "visual.onnx"), heavyVisualModel({ layers: 24 }));
  writeFileSync(join(dir, "textual.onnx"), clipTextualModel());
  worker = new Worker(new URL("../../src/runtime/inference-thread.ts", import.meta.url).href);
  worker.addEventListener("message", (event: MessageEvent) => replies.get((event.data as WorkerReply).id)?.(event.data as WorkerReply));
  const created = (await post({ op: "create", path: join(dir, "visual.onnx"), settings: SETTINGS }, "create")).value as {
    session: number;
    outputNames: string[];
  };
  slow = created.session;
  outputNames = created.outputNames;
});

afterAll(() => worker.terminate());

/** Whether the run that `reply` answers was inside onnxruntime at `at` (process clock, ms). */
function isRunningAt(reply: WorkerReply, at: number): boolean {
  return reply.startedMs <= at && at < reply.startedMs + reply.runMs;
}

/**
 * Runs a scenario that needs the thread busy with a first run when the test acts, waiting 30 ms
 * after posting it and longer on a machine too busy to have started it by then. The premise is
 * read from the replies' own timestamps, so a result is only judged when its premise held.
 */
async function untilPremise<T extends { premise: boolean }>(scenario: (waitMs: number) => Promise<T>): Promise<T> {
  for (const waitMs of [30, 100, 300]) {
    const outcome = await scenario(waitMs);
    if (outcome.premise) return outcome;
  }
  throw new Error("the first run was never inside onnxruntime when the test acted");
}

describe("inference thread queue", () => {
  test("batch runs keep their arrival order", async () => {
    order = [];
    await Promise.all([1, 2, 3, 4].map((n) => post(run(), `image${n}`)));
    expect(order).toEqual(["image1", "image2", "image3", "image4"]);
  });

  test("a queued run whose request gave up is skipped and reported as abandoned", async () => {
    const attempt = async (waitMs: number) => {
      order = [];
      const running = post(run(), "running");
      const abandon = new Int32Array(new SharedArrayBuffer(4));
      const skipped = post(run(abandon), "skipped");
      await Bun.sleep(waitMs);
      const abandonedAt = processClockMs();
      Atomics.store(abandon, 0, 1);
      const [first, second] = await Promise.all([running, skipped]);
      return { premise: isRunningAt(first, abandonedAt), first, second };
    };
    const { first, second } = await untilPremise(attempt);
    expect(first.ok).toBe(true);
    expect([second.ok, second.abandoned]).toEqual([false, true]);
    // Skipped at once: it did not run the model.
    expect(second.runMs).toBeLessThan(first.runMs / 4);
  });
});

describe("feeds", () => {
  test("shared memory is passed on as it is, a slice of an ordinary buffer copied, a whole one handed over", () => {
    const dims = [1, 4];
    const shared = new Float32Array(new SharedArrayBuffer(32), 16, 4);
    expect(ownedFeed({ type: "float32", data: shared, dims }).data).toBe(shared);
    const slice = new Float32Array(8).subarray(4);
    const copied = ownedFeed({ type: "float32", data: slice, dims }).data;
    expect(copied).not.toBe(slice);
    expect([copied.byteOffset, copied.buffer.byteLength]).toEqual([0, 16]);
    const whole = new Float32Array(4);
    expect(ownedFeed({ type: "float32", data: whole, dims }).data).toBe(whole);
  });

  test("one in shared memory at an offset (a pooled tensor) gives what the same values in an ordinary array give", async () => {
    const threads = new InferenceThreads();
    const visual = await OnnxSession.create(threads, join(dir, "visual.onnx"), SETTINGS);
    try {
      const values = Float32Array.from({ length: 3 * 224 * 224 }, (_, i) => Math.sin(i * 0.37));
      const shared = new Float32Array(new SharedArrayBuffer(16 + values.byteLength), 16, values.length);
      shared.set(values);
      const dims = [1, 3, 224, 224];
      const [fromShared] = await visual.run({ image: { type: "float32", data: shared, dims } });
      const [fromOrdinary] = await visual.run({ image: { type: "float32", data: values, dims } });
      expect(Array.from(fromShared!.data)).toEqual(Array.from(fromOrdinary!.data));
      // The shared tensor is still the caller's (read in place); the ordinary one was handed over.
      expect(shared[1]).toBe(Math.fround(Math.sin(0.37)));
      expect(values.length).toBe(0);
    } finally {
      await visual.release();
    }
  });
});

describe("feeds of accelerator sessions (onnxruntime-node)", () => {
  test("shared memory at an offset gives what an ordinary array gives", async () => {
    const session = await ort.InferenceSession.create(join(dir, "visual.onnx"));
    const hosted = { session, inputs: [], outputNames: session.outputNames, provider: "cpu" };
    try {
      const values = Float32Array.from({ length: 3 * 224 * 224 }, (_, i) => Math.cos(i * 0.11));
      const shared = new Float32Array(new SharedArrayBuffer(16 + values.byteLength), 16, values.length);
      shared.set(values);
      const dims = [1, 3, 224, 224];
      const [fromShared] = await runHostedSession(hosted, { image: { type: "float32", data: shared, dims } }, false);
      const [fromOrdinary] = await runHostedSession(hosted, { image: { type: "float32", data: values, dims } }, false);
      expect(Array.from((fromShared as OutputTensor).data)).toEqual(Array.from((fromOrdinary as OutputTensor).data));
    } finally {
      await session.release();
    }
  });
});

/** Whether this process may raise a thread to `nice` (asked of a child process, which it leaves). */
function osAllowsRaising(nice: number): boolean {
  const child = spawnSync(process.execPath, ["-e", `require("node:os").setPriority(0, ${nice})`]);
  return child.status === 0;
}

/** Nice value of each of this process's threads with the OS name `name`. */
function niceOfThreads(name: string): number[] {
  return readdirSync("/proc/self/task")
    .filter((tid) => readFileSync(`/proc/self/task/${tid}/comm`, "utf8").trim() === name)
    .map((tid) => {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, "utf8");
      // Fields after the parenthesised name start at field 3 (state); nice is field 19.
      return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[16]);
    });
}

describe("interactive sessions", () => {
  test("run on the search thread: a query does not wait for queued scan runs, and keeps normal priority", async () => {
    const settings = { ...SETTINGS, inferenceThreads: 1 };
    const threads = new InferenceThreads();
    const visual = await OnnxSession.create(threads, join(dir, "visual.onnx"), settings);
    const text = await OnnxSession.create(threads, join(dir, "textual.onnx"), settings, { interactive: true });
    try {
      const finished: string[] = [];
      const scans = [1, 2, 3].map((n) => visual.run(imageFeed()).then(() => finished.push(`image${n}`)));
      const query = text.run(textFeed()).then(() => finished.push("text"));
      await Promise.all([...scans, query]);
      expect(finished[0]).toBe("text");
      if (process.platform === "linux") {
        expect(niceOfThreads("ml-search")).toEqual([0]);
        expect(niceOfThreads("ml-inference")).toEqual([10]);
      }
    } finally {
      await visual.release();
      await text.release();
    }
  });

  test("the search thread and its onnxruntime threads run at the search nice where the OS allows it, else at 0", async () => {
    const threads = new InferenceThreads();
    const settings = { ...SETTINGS, searchIntraOpThreads: 2, searchNice: -5 };
    const text = await OnnxSession.create(threads, join(dir, "textual.onnx"), settings, { interactive: true });
    try {
      await text.run(textFeed());
      if (process.platform === "linux") {
        const nice = osAllowsRaising(-5) ? -5 : 0;
        // The thread itself and the one intra-op thread onnxruntime adds for it.
        expect(niceOfThreads("ml-search")).toEqual([nice, nice]);
      }
    } finally {
      await text.release();
    }
  });

  test("more queries in flight than the threads that may run them lower the search threads; a query a second later restores them", async () => {
    const { backlog, clock, set } = recordingBacklog(-3);
    const threads = new InferenceThreads(backlog);
    // One scan thread: a query may run on it or on the search thread, so two at once are no backlog.
    const text = await OnnxSession.create(threads, join(dir, "textual.onnx"), { ...SETTINGS, inferenceThreads: 1 }, { interactive: true });
    try {
      await Promise.all([1, 2].map(() => text.run(textFeed())));
      expect(set).toEqual([]);
      await Promise.all([1, 2, 3].map(() => text.run(textFeed())));
      expect(set).toEqual([BACKLOG_NICE]);
      clock.ms += RESTORE_AFTER_MS;
      await text.run(textFeed());
      expect(set).toEqual([BACKLOG_NICE, -3]);
    } finally {
      await text.release();
    }
  });

  test("one model's runs go to every scan thread the layout allows, and no more; the threads stop with its release", async () => {
    const threads = new InferenceThreads();
    const visual = await OnnxSession.create(threads, join(dir, "visual.onnx"), { ...SETTINGS, inferenceThreads: 2 });
    try {
      const outputs = await Promise.all([1, 2, 3, 4].map(() => visual.run(imageFeed())));
      expect(threads.count).toBe(2);
      for (const [output] of outputs) expect(Array.from(output!.data)).toEqual(Array.from(outputs[0]![0]!.data));
    } finally {
      await visual.release();
    }
    expect(threads.count).toBe(0);
  });

  test("keep onnxruntime's arena whatever MODEL_ARENA says; other sessions follow it", () => {
    expect(sessionSettingsFor({ ...SETTINGS, arena: false }, { interactive: true }).arena).toBe(true);
    expect(sessionSettingsFor({ ...SETTINGS, arena: false }, {}).arena).toBe(false);
    expect(sessionSettingsFor({ ...SETTINGS, arena: true }, {}).arena).toBe(true);
  });

  test("plan their activations as one block only where the model asks, interactive or not", () => {
    expect(sessionSettingsFor(SETTINGS, { memoryPattern: true }).memoryPattern).toBe(true);
    expect(sessionSettingsFor(SETTINGS, { interactive: true, memoryPattern: true }).memoryPattern).toBe(true);
    expect(sessionSettingsFor(SETTINGS, { interactive: true }).memoryPattern).toBeUndefined();
    expect(sessionSettingsFor(SETTINGS, {}).memoryPattern).toBeUndefined();
  });

  test("carry a model's layout probe to the session's creation, and none where it gives none", () => {
    expect(sessionSettingsFor(SETTINGS, { layoutProbe: [1, 3, 112, 112] }).layoutProbe).toEqual([1, 3, 112, 112]);
    expect(sessionSettingsFor(SETTINGS, { interactive: true, layoutProbe: [1, 3, 64, 64] }).layoutProbe).toEqual([1, 3, 64, 64]);
    expect(sessionSettingsFor(SETTINGS, {}).layoutProbe).toBeUndefined();
  });

  test("spin their idle intra-op threads a moment; other sessions' threads sleep", () => {
    expect(sessionSettingsFor(SETTINGS, { interactive: true }).spinMicroseconds).toBe(INTERACTIVE_SPIN_MICROSECONDS);
    expect(sessionSettingsFor(SETTINGS, {}).spinMicroseconds).toBeUndefined();
  });

  test("run on the search intra-op thread count; other sessions keep theirs", () => {
    const searchThreads = { ...SETTINGS, intraOpThreads: 1, searchIntraOpThreads: 2 };
    expect(sessionSettingsFor(searchThreads, { interactive: true }).intraOpThreads).toBe(2);
    expect(sessionSettingsFor(searchThreads, {}).intraOpThreads).toBe(1);
    // Without a search count (the field is optional), interactive sessions take the common one.
    expect(sessionSettingsFor({ ...SETTINGS, intraOpThreads: 3 }, { interactive: true }).intraOpThreads).toBe(3);
  });
});
