/**
 * The C-API sessions (runtime/ort-capi.ts) against onnxruntime-node on the same library: same
 * signature, same outputs bit for bit, the same error words the model cache reads
 * (models/file-error.ts); and what they are for: one session run by two inference threads at once.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as ort from "onnxruntime-node";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { bestClasses } from "../../src/runtime/best-class.ts";
import { createNativeSession, releaseNativeSession, runNativeSession } from "../../src/runtime/ort-capi.ts";
import type { Feed, SessionRequest } from "../../src/runtime/onnx-session.ts";
import type { WorkerReply } from "../../src/runtime/worker-protocol.ts";
import { clipTextualModel, faceEmbedderModel, heavyVisualModel } from "../support/onnx-builder.ts";
import { tempDir } from "../support/temp.ts";

const OPTIONS = { intraOpThreads: 1, interOpThreads: 1, arena: true };

let dir: string;
beforeAll(() => {
  dir = tempDir();
  writeFileSync(join(dir, "faces.onnx"), faceEmbedderModel());
  writeFileSync(join(dir, "text64.onnx"), clipTextualModel({ idType: "int64" }));
  writeFileSync(join(dir, "heavy.onnx"), heavyVisualModel({ layers: 24 }));
  writeFileSync(join(dir, "not-onnx.onnx"), "not a model");
});

function ramp(count: number): Float32Array {
  return Float32Array.from({ length: count }, (_, i) => Math.sin(i * 0.37));
}

describe("a C-API session", () => {
  test("describes its inputs and outputs as onnxruntime-node does, symbolic sizes unknown", async () => {
    const path = join(dir, "faces.onnx");
    const native = createNativeSession(path, OPTIONS);
    const reference = await ort.InferenceSession.create(path);
    try {
      expect(native.outputNames).toEqual([...reference.outputNames]);
      const expected = reference.inputMetadata.map((meta) => ({
        name: meta.name,
        type: meta.isTensor ? meta.type : "unknown",
        shape: meta.isTensor ? meta.shape.map((dim) => (typeof dim === "number" ? dim : undefined)) : [],
      }));
      expect(native.inputs).toEqual(expected);
      expect(native.inputs[0]!.shape).toEqual([undefined, 3, 112, 112]);
    } finally {
      releaseNativeSession(native.handle);
      await reference.release();
    }
  });

  test("computes what onnxruntime-node computes, bit for bit, for float and int64 inputs and any batch size", async () => {
    const cases: Array<{ file: string; feed: Feed }> = [
      { file: "faces.onnx", feed: { type: "float32", data: ramp(3 * 3 * 112 * 112), dims: [3, 3, 112, 112] } },
      { file: "text64.onnx", feed: { type: "int64", data: BigInt64Array.from({ length: 77 }, (_, i) => BigInt((i * 31) % 1000)), dims: [1, 77] } },
    ];
    for (const { file, feed } of cases) {
      const path = join(dir, file);
      const native = createNativeSession(path, OPTIONS);
      const reference = await ort.InferenceSession.create(path, { intraOpNumThreads: 1, interOpNumThreads: 1 });
      try {
        const name = native.inputs[0]!.name;
        const ours = runNativeSession(native.handle, native.outputNames, { [name]: feed });
        const theirs = await reference.run({ [name]: new ort.Tensor(feed.type, feed.data, feed.dims) });
        expect(ours).toHaveLength(native.outputNames.length);
        native.outputNames.forEach((output, i) => {
          expect(ours[i]!.dims).toEqual([...theirs[output]!.dims]);
          expect(Array.from(ours[i]!.data)).toEqual(Array.from(theirs[output]!.data as Float32Array));
        });
      } finally {
        releaseNativeSession(native.handle);
        await reference.release();
      }
    }
  });

  test("on two intra-op threads that spin between parallel sections, computes what onnxruntime-node's defaults compute", async () => {
    const path = join(dir, "text64.onnx");
    const native = createNativeSession(path, { ...OPTIONS, intraOpThreads: 2, spinMicroseconds: 100 });
    const reference = await ort.InferenceSession.create(path, { intraOpNumThreads: 2, interOpNumThreads: 1 });
    try {
      const feed: Feed = { type: "int64", data: BigInt64Array.from({ length: 77 }, (_, i) => BigInt((i * 17) % 1000)), dims: [1, 77] };
      const name = native.inputs[0]!.name;
      const [ours] = runNativeSession(native.handle, native.outputNames, { [name]: feed });
      const theirs = await reference.run({ [name]: new ort.Tensor(feed.type, feed.data, feed.dims) });
      expect(Array.from(ours!.data)).toEqual(Array.from(theirs[native.outputNames[0]!]!.data as Float32Array));
    } finally {
      releaseNativeSession(native.handle);
      await reference.release();
    }
  });

  test("reduced to the best class per position, reads what the full output holds", () => {
    const native = createNativeSession(join(dir, "faces.onnx"), OPTIONS);
    try {
      const feeds = { input: { type: "float32" as const, data: ramp(4 * 3 * 112 * 112), dims: [4, 3, 112, 112] } };
      const [full] = runNativeSession(native.handle, native.outputNames, feeds);
      const [reduced] = runNativeSession(native.handle, native.outputNames, feeds, true);
      expect(reduced).toEqual(bestClasses(full!.data, full!.dims));
      expect(reduced!.dims).toEqual([4]);
    } finally {
      releaseNativeSession(native.handle);
    }
  });

  test("fails with onnxruntime's own words: a file that is not ONNX, a missing file, a wrong input", () => {
    expect(() => createNativeSession(join(dir, "not-onnx.onnx"), OPTIONS)).toThrow("Protobuf parsing failed");
    expect(() => createNativeSession(join(dir, "missing.onnx"), OPTIONS)).toThrow("File doesn't exist");
    const native = createNativeSession(join(dir, "faces.onnx"), OPTIONS);
    try {
      const wrong: Feed = { type: "float32", data: ramp(3 * 64 * 64), dims: [1, 3, 64, 64] };
      expect(() => runNativeSession(native.handle, native.outputNames, { input: wrong })).toThrow("dimension");
      // The session survives a failed run.
      const right: Feed = { type: "float32", data: ramp(3 * 112 * 112), dims: [1, 3, 112, 112] };
      expect(runNativeSession(native.handle, native.outputNames, { input: right })[0]!.dims).toEqual([1, 512]);
    } finally {
      releaseNativeSession(native.handle);
    }
  });
});

describe("one session, two inference threads", () => {
  const workers: Worker[] = [];
  afterAll(() => {
    for (const worker of workers) worker.terminate();
  });

  function inferenceThread(): (request: SessionRequest) => Promise<WorkerReply> {
    const worker = new Worker(new URL("../../src/runtime/inference-thread.ts", import.meta.url).href);
    workers.push(worker);
    let nextId = 1;
    const waiting = new Map<number, (reply: WorkerReply) => void>();
    worker.addEventListener("message", (event: MessageEvent) => waiting.get((event.data as WorkerReply).id)?.(event.data as WorkerReply));
    return (request) =>
      new Promise((resolve) => {
        const id = nextId++;
        waiting.set(id, resolve);
        worker.postMessage({ id, session: request });
      });
  }

  test("run it at the same time, with the same results", async () => {
    const [first, second] = [inferenceThread(), inferenceThread()];
    const settings = { inferenceThreads: 2, intraOpThreads: 1, interOpThreads: 1, arena: true, deviceId: "0" };
    const created = (await first({ op: "create", path: join(dir, "heavy.onnx"), settings })).value as {
      session: number;
      shared: boolean;
      outputNames: string[];
    };
    expect(created.shared).toBe(true);
    const run = (): SessionRequest => ({
      op: "run",
      session: created.session,
      shared: true,
      outputNames: created.outputNames,
      feeds: { image: { type: "float32", data: new Float32Array(3 * 224 * 224).fill(0.5), dims: [1, 3, 224, 224] } },
    });
    // Warm both threads (each binds the API once), then two runs posted together.
    await Promise.all([first(run()), second(run())]);
    const [a, b] = await Promise.all([first(run()), second(run())]);
    expect([a.ok, b.ok]).toEqual([true, true]);
    // Each started before the other ended: inside onnxruntime at the same time, not one after the other.
    expect(a.startedMs).toBeLessThan(b.startedMs + b.runMs);
    expect(b.startedMs).toBeLessThan(a.startedMs + a.runMs);
    const [outA, outB] = [a.value, b.value] as Array<Array<{ data: Float32Array }>>;
    expect(Array.from(outA![0]!.data)).toEqual(Array.from(outB![0]!.data));
    expect((await second({ op: "release", session: created.session, shared: true })).ok).toBe(true);
  });
});
