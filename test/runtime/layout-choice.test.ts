/**
 * The NCHWc layout choice (runtime/layout-choice.ts): the faster of two timed sessions is kept
 * and the other released, the choice is remembered, failures release what was made; and the
 * option really reaches onnxruntime (the stand-in embedder's convolutions give other float
 * roundings without the layout, on x64 where MLAS has NCHWc kernels).
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { chooseLayout, createLayoutTunedSession, type LayoutTrial } from "../../src/runtime/layout-choice.ts";
import { createNativeSession, releaseNativeSession, runNativeSession } from "../../src/runtime/ort-capi.ts";
import type { SessionSettings } from "../../src/runtime/onnx-session.ts";
import { captureLog } from "../support/log-capture.ts";
import { faceEmbedderModel } from "../support/onnx-builder.ts";
import { tempDir } from "../support/temp.ts";

interface FakeSession {
  nchwc: boolean;
  released: boolean;
}

/** Sessions whose runs take the given milliseconds in turn, per layout; records the order of runs. */
function fakeTrial(ms: { withNchwc: number[]; withoutNchwc: number[] }, failOn?: "create-without" | "run") {
  const made: FakeSession[] = [];
  const runs: boolean[] = [];
  const trial: LayoutTrial<FakeSession> = {
    create(nchwc) {
      if (!nchwc && failOn === "create-without") throw new Error("cannot create");
      const session = { nchwc, released: false };
      made.push(session);
      return session;
    },
    timeRun(session) {
      if (failOn === "run") throw new Error("cannot run");
      runs.push(session.nchwc);
      const list = session.nchwc ? ms.withNchwc : ms.withoutNchwc;
      return list[runs.filter((n) => n === session.nchwc).length - 1]!;
    },
    release(session) {
      session.released = true;
    },
  };
  return { trial, made, runs };
}

let key = 0;
const freshKey = () => `model-${key++}`;

describe("choosing the NCHWc layout by timing", () => {
  test("keeps the faster kind by its best timed run, the first run of each untimed, and releases the other", () => {
    // The untimed first runs would favour the other kind; so would the worse of the timed ones.
    const { trial, made, runs } = fakeTrial({ withNchwc: [1, 30, 50], withoutNchwc: [90, 40, 20] });
    const choice = chooseLayout(freshKey(), trial);
    expect(choice.nchwc).toBe(false);
    expect(choice.session.nchwc).toBe(false);
    expect(choice.timings).toEqual({ withNchwc: 30, withoutNchwc: 20 });
    expect(made.map((s) => [s.nchwc, s.released])).toEqual([
      [true, true],
      [false, false],
    ]);
    // Alternating, so that a busy moment slows both alike.
    expect(runs).toEqual([true, false, true, false, true, false]);
  });

  test("keeps onnxruntime's default where it is the faster, and on a tie", () => {
    for (const ms of [
      { withNchwc: [5, 10, 10], withoutNchwc: [5, 11, 12] },
      { withNchwc: [5, 10, 10], withoutNchwc: [5, 10, 10] },
    ]) {
      const { trial, made } = fakeTrial(ms);
      const choice = chooseLayout(freshKey(), trial);
      expect(choice.nchwc).toBe(true);
      expect(made.find((s) => !s.nchwc)?.released).toBe(true);
    }
  });

  test("remembers the choice: the next load of the same model creates that kind alone, untimed", () => {
    const id = freshKey();
    chooseLayout(id, fakeTrial({ withNchwc: [1, 9, 9], withoutNchwc: [1, 3, 3] }).trial);
    const again = fakeTrial({ withNchwc: [1, 1, 1], withoutNchwc: [9, 9, 9] });
    const choice = chooseLayout(id, again.trial);
    expect(choice.nchwc).toBe(false);
    expect(choice.timings).toBeUndefined();
    expect(again.made.map((s) => s.nchwc)).toEqual([false]);
    expect(again.runs).toEqual([]);
  });

  test("a failure to create or to run releases every session made, and nothing is remembered", () => {
    for (const failOn of ["create-without", "run"] as const) {
      const id = freshKey();
      const failing = fakeTrial({ withNchwc: [1, 1, 1], withoutNchwc: [1, 1, 1] }, failOn);
      expect(() => chooseLayout(id, failing.trial)).toThrow();
      expect(failing.made.every((s) => s.released)).toBe(true);
      const next = fakeTrial({ withNchwc: [1, 9, 9], withoutNchwc: [1, 2, 2] });
      expect(chooseLayout(id, next.trial).timings).toBeDefined();
    }
  });
});

describe("the layout option in onnxruntime", () => {
  const SETTINGS: SessionSettings = { inferenceThreads: 1, intraOpThreads: 1, interOpThreads: 1, arena: true, deviceId: "0" };
  let path: string;
  beforeAll(() => {
    path = join(tempDir(), "faces.onnx");
    writeFileSync(path, faceEmbedderModel(1));
  });

  const input = Float32Array.from({ length: 3 * 112 * 112 }, (_, i) => Math.sin(i * 0.37));
  function embed(nchwc: boolean): Float32Array {
    const session = createNativeSession(path, { ...SETTINGS, nchwcLayout: nchwc });
    try {
      return runNativeSession(session.handle, session.outputNames, { input: { type: "float32", data: input, dims: [1, 3, 112, 112] } })[0]!.data;
    } finally {
      releaseNativeSession(session.handle);
    }
  }

  test("without NCHWc the convolutions round otherwise (x64), to the same embedding within float noise", () => {
    const [withLayout, without] = [embed(true), embed(false)];
    const differing = withLayout.filter((value, i) => value !== without[i]).length;
    // MLAS has NCHWc kernels on x64 only; elsewhere the transformer leaves the graph as it is.
    if (process.arch === "x64") expect(differing).toBeGreaterThan(0);
    else expect(differing).toBe(0);
    const dot = withLayout.reduce((sum, value, i) => sum + value * without[i]!, 0);
    const norms = Math.hypot(...withLayout) * Math.hypot(...without);
    expect(dot / norms).toBeGreaterThan(0.99999);
  });

  /** The session made for `layoutProbe` on `arch` runs; returns what was logged meanwhile. */
  function tuned(layoutProbe: number[], arch: string, model?: string): string[] {
    // A copy of the model under a new name each time: a choice is remembered per file.
    const copy = join(tempDir(), "faces.onnx");
    copyFileSync(path, copy);
    return captureLog("info", () => {
      const session = createLayoutTunedSession(copy, { ...SETTINGS, layoutProbe }, { arch, ...(model ? { model } : {}) });
      try {
        const [output] = runNativeSession(session.handle, session.outputNames, { input: { type: "float32", data: input, dims: [1, 3, 112, 112] } });
        expect(output!.dims).toEqual([1, 512]);
      } finally {
        releaseNativeSession(session.handle);
      }
    });
  }

  test("a probed session is timed both ways on x64, and created once elsewhere, where both ways are one", () => {
    const timed = tuned([1, 3, 112, 112], "x64");
    expect(timed).toHaveLength(1);
    expect(timed[0]).toMatch(/(with|without) onnxruntime's NCHWc layout \(a 1x3x112x112 run [\d.]+ ms with, [\d.]+ ms without/);
    expect(tuned([1, 3, 112, 112], "arm64")).toEqual([]);
  });

  test("a file loaded for another (a rewrite before its commit) is timed, logged and remembered as that model", () => {
    const model = join(tempDir(), "model.onnx");
    const first = tuned([1, 3, 112, 112], "x64", model);
    expect(first).toHaveLength(1);
    expect(first[0]).toContain(`${model}: `);
    expect(first[0]).not.toContain("faces.onnx");
    // Another file under the same model's name: the remembered choice, nothing timed.
    expect(tuned([1, 3, 112, 112], "x64", model)).toEqual([]);
  });

  test("a probe the model cannot take leaves onnxruntime's default, and says so", () => {
    const lines = tuned([1, 3, 112], "x64");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain("keeping onnxruntime's default layout: Error: expected one float32 input of rank 3");
  });
});
