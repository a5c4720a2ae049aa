/**
 * A thread that dies with work queued on it: both crash paths (a pre-processing worker of the
 * pool, an inference thread running a session) fail the callers waiting on it at once instead of
 * leaving them hanging, and later work goes to a fresh thread.
 *
 * The crash is real: the thread's own message port receives a message its handler cannot read
 * (`null`), so the handler throws outside any job and the thread dies of an uncaught error, as it
 * would from a bug. Nothing else can reach a thread from outside, hence the look inside the pool
 * and the inference threads for their Worker handles.
 */
import { describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { RgbImage } from "../../src/imaging/rgb-image.ts";
import { InferenceThreads, OnnxSession, type Feed, type SessionSettings } from "../../src/runtime/onnx-session.ts";
import { WorkerPool } from "../../src/runtime/worker-pool.ts";
import { TASK_KERNELS, type TaskPool } from "../../src/tasks/kernels.ts";
import { heavyVisualModel } from "../support/onnx-builder.ts";
import { tempDir } from "../support/temp.ts";

const SETTINGS: SessionSettings = { inferenceThreads: 1, intraOpThreads: 1, interOpThreads: 1, arena: false, deviceId: "0" };

function crash(worker: Worker): void {
  worker.postMessage(null);
}

function poolWorker(pool: TaskPool): Worker {
  return (pool as unknown as { slots: Array<{ worker: Worker }> }).slots[0]!.worker;
}

function inferenceWorkers(threads: InferenceThreads): Worker[] {
  return (threads as unknown as { threads: Array<{ worker: Worker }> }).threads.map((thread) => thread.worker);
}

describe("a pre-processing worker that dies", () => {
  test("fails the jobs queued on it at once; the next job starts a fresh worker", async () => {
    const pool = new WorkerPool(1, TASK_KERNELS);
    const image: RgbImage = { width: 320, height: 240, data: new Uint8Array(new SharedArrayBuffer(320 * 240 * 3)) };
    const letterbox = () => pool.run("faces.detectionInput", { image, inputSize: 640 });
    try {
      const running = letterbox();
      const queued = letterbox();
      crash(poolWorker(pool));
      const postedAfter = letterbox();
      // The first job may finish before the bad message is read; those behind it cannot.
      const [, second, third] = await Promise.allSettled([running, queued, postedAfter]);
      for (const failed of [second, third]) {
        expect(failed.status).toBe("rejected");
        expect(String((failed as PromiseRejectedResult).reason)).toContain("faces.detectionInput: worker thread failed");
      }
      expect(pool.started).toBe(0);
      const { tensor } = await letterbox();
      expect(tensor).toHaveLength(3 * 640 * 640);
      expect(pool.started).toBe(1);
    } finally {
      await pool.close();
    }
  });
});

describe("an inference thread that dies", () => {
  test("fails the run it had at once; the session lives on and its later runs go to a fresh thread", async () => {
    const path = join(tempDir(), "model.onnx");
    writeFileSync(path, heavyVisualModel({ layers: 4 }));
    const feeds = (): Record<string, Feed> => ({ image: { type: "float32", data: new Float32Array(3 * 224 * 224).fill(0.5), dims: [1, 3, 224, 224] } });
    const threads = new InferenceThreads();
    const session = await OnnxSession.create(threads, path, SETTINGS);
    const [crashed] = inferenceWorkers(threads);
    expect(threads.count).toBe(1);

    // One scan thread allowed: the first run goes to it, the second waits for it in the queue.
    const runs = [session.run(feeds()), session.run(feeds())];
    crash(crashed!);
    const results = await Promise.allSettled(runs);
    // However far the runs got before the thread died, none is left waiting: the one it had when
    // it died fails naming it (which one depends on how far the first got).
    const failures = results.filter((result) => result.status === "rejected");
    expect(failures.length).toBeGreaterThanOrEqual(1);
    for (const failure of failures) expect(String(failure.reason)).toContain("inference thread failed");
    expect(inferenceWorkers(threads)).not.toContain(crashed);

    // The session is onnxruntime's, not the thread's: it lives on, and runs on a fresh thread.
    const [output] = await session.run(feeds());
    expect(output!.dims).toEqual([1, 512]);
    expect(inferenceWorkers(threads)).toHaveLength(1);
    expect(inferenceWorkers(threads)[0]).not.toBe(crashed);
    await session.release();
    expect(threads.count).toBe(0);
  });
});
