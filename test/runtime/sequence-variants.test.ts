/**
 * Shorter-sequence sessions of a text tower (runtime/sequence-variants.ts): kept only where they
 * give the full session's embedding on every probe that fits them, created on the weights the full
 * session was created on (shared-weights.ts), and freed with them.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { prepareMappedWeights } from "../../src/runtime/mapped-weights.ts";
import type { Feed, SessionSettings } from "../../src/runtime/onnx-session.ts";
import { createNativeSession, type NativeSession, releaseNativeSession, runNativeSession } from "../../src/runtime/ort-capi.ts";
import {
  createSequenceVariants,
  openWeightSharing,
  releaseWeightSharing,
  type SequenceProbe,
  type SequenceVariant,
  truncateFeeds,
  type WeightSharing,
} from "../../src/runtime/sequence-variants.ts";
import { captureLog } from "../support/log-capture.ts";
import { sequenceTextTower } from "../support/onnx-builder.ts";
import { tempDir } from "../support/temp.ts";

const SETTINGS: SessionSettings = { inferenceThreads: 1, intraOpThreads: 1, interOpThreads: 1, arena: true, deviceId: "0" };
const CONTEXT = 12;
const END = 4095;

function feeds(text: number[]): Record<string, Feed> {
  const ids = new Int32Array(CONTEXT).fill(END);
  ids.set(text);
  return { text: { type: "int32", data: ids, dims: [1, CONTEXT] } };
}

const PROBES: SequenceProbe[] = [
  { tokens: 5, feeds: feeds([1, 20, 30, 40, END]) },
  { tokens: 8, feeds: feeds([1, 2, 3, 4, 5, 6, 7, END]) },
];

/** A tower whose token table (256 KiB at the default width) is moved out of the graph, as the service does with large ones. */
function mappedTower(causal: boolean, width = 16): string {
  const path = join(tempDir(), "model.onnx");
  writeFileSync(path, sequenceTextTower({ context: CONTEXT, vocab: END + 1, width, causal }));
  // Tensors from 64 KiB (the table at width 16) or from 1 MiB on wider towers, whose positional
  // embedding (96 KiB at 2048) stays in the graph, as a real tower's does under the service's limits.
  const limit = width > 16 ? 1 << 20 : 64 << 10;
  prepareMappedWeights(path, { minTensorBytes: limit, minModelBytes: limit })!.commit();
  return path;
}

function run(session: number, outputNames: readonly string[], input: Record<string, Feed>): Float32Array {
  return runNativeSession(session, outputNames, input)[0]!.data;
}

/** The full session on shared weights, its shorter sessions, and the log of making them; all freed after `body`. */
function withVariants(
  causal: boolean,
  lengths: number[],
  body: (full: NativeSession & { path: string }, variants: SequenceVariant[], log: string[]) => void,
): void {
  const path = mappedTower(causal);
  const sharing = openWeightSharing(path) as WeightSharing;
  expect(sharing).not.toBeNull();
  const full = createNativeSession(path, { ...SETTINGS, prepackedWeights: sharing.container, sharedInitializers: sharing.weights.initializers });
  let variants: SequenceVariant[] = [];
  try {
    const log = captureLog("info", () => {
      variants = createSequenceVariants(path, full, CONTEXT, SETTINGS, sharing, lengths, PROBES);
    });
    body({ ...full, path }, variants, log);
  } finally {
    for (const variant of variants) releaseNativeSession(variant.session);
    releaseNativeSession(full.handle);
    releaseWeightSharing(sharing);
  }
}

describe("createSequenceVariants", () => {
  test("keeps each length every fitting probe agrees on, up to the context, and runs them on the shared weights", () => {
    withVariants(true, [16, 8, 5], (full, variants, log) => {
      expect(variants.map((variant) => variant.length)).toEqual([5, 8]);
      // The full session on our mapping of the weights gives what onnxruntime's own loading gives.
      const plain = createNativeSession(full.path, SETTINGS);
      try {
        for (const probe of PROBES) expect(run(full.handle, full.outputNames, probe.feeds)).toEqual(run(plain.handle, plain.outputNames, probe.feeds));
      } finally {
        releaseNativeSession(plain.handle);
      }
      expect(log.some((line) => line.includes("shorter sessions for texts of up to 5, 8 of its 12 tokens"))).toBe(true);
      for (const probe of PROBES) {
        const expected = run(full.handle, full.outputNames, probe.feeds);
        for (const variant of variants.filter((v) => v.length >= probe.tokens)) {
          expect(run(variant.session, full.outputNames, truncateFeeds(probe.feeds, variant.length))).toEqual(expected);
        }
      }
    });
  });

  test("a tower that attends to its padding keeps its full length only, and is not tried again", () => {
    withVariants(false, [5, 8], (full, variants, log) => {
      expect(variants).toEqual([]);
      expect(log.some((line) => line.includes("runs at its full 12 tokens only; at 5:") && line.includes("differs by"))).toBe(true);
      // Reloaded (after an eviction): the same file is remembered, no session made or run.
      const sharing = openWeightSharing(full.path) as WeightSharing;
      try {
        const again = captureLog("info", () => expect(createSequenceVariants(full.path, full, CONTEXT, SETTINGS, sharing, [5, 8], PROBES)).toEqual([]));
        expect(again).toEqual([]);
      } finally {
        releaseWeightSharing(sharing);
      }
    });
  });

  test("a length no probe fits ends the attempt", () => {
    withVariants(true, [4, 8], (_full, variants) => expect(variants).toEqual([]));
  });

  test.skipIf(!existsSync("/proc/self/status"))(
    "shorter sessions on shared weights share the copies onnxruntime packs: memory grows by their graphs, not the weights",
    () => {
      // A 2048 x 2048 projection: 16 MiB that onnxruntime packs for its MatMul in every session.
      const path = mappedTower(true, 2048);
      // Measured in processes of their own, as the mapped-weights test does (this one's garbage moves its RSS).
      const growth = (mode: string) => {
        const child = Bun.spawnSync([process.execPath, join(import.meta.dir, "../support/shared-weights-probe.ts"), path, mode], { stderr: "pipe" });
        expect(child.stderr.toString()).toBe("");
        return (JSON.parse(child.stdout.toString()) as { growthMb: number }).growthMb;
      };
      const own = growth("own");
      // The lower of two: memory the OS has not taken back yet only adds (one CI run's VmRSS read 33 MB
      // where every other reads 18), while sessions that do not share would show in both.
      const shared = Math.min(growth("shared"), growth("shared"));
      // Anonymous memory, where the packed copies live. Three sessions each packing their own 16 MiB
      // copy: 49 MiB measured; on shared weights 17–18 MiB (their graphs, kernels and activations).
      // One session of the three not sharing would save only about one copy (16 MiB).
      const copyMb = (2048 * 2048 * 4) / 2 ** 20;
      expect(own).toBeGreaterThan(2.5 * copyMb);
      expect(shared).toBeLessThan(own - 1.5 * copyMb);
    },
  );

  test("a model that keeps its weights in the graph has nothing to share", () => {
    const path = join(tempDir(), "model.onnx");
    writeFileSync(path, sequenceTextTower({ context: CONTEXT }));
    expect(openWeightSharing(path)).toBeNull();
  });

  test("truncateFeeds keeps the first positions of each input along its last axis", () => {
    const cut = truncateFeeds(
      { ...feeds([1, 2, 3, END]), mask: { type: "int64", data: BigInt64Array.from({ length: CONTEXT }, () => 1n), dims: [1, CONTEXT] } },
      4,
    );
    expect(Array.from(cut.text!.data as Int32Array)).toEqual([1, 2, 3, END]);
    expect(cut.text!.dims).toEqual([1, 4]);
    expect(Array.from(cut.mask!.data as BigInt64Array)).toEqual([1n, 1n, 1n, 1n]);
  });
});
