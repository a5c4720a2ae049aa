/**
 * Large weights moved into `model.onnx.data` (runtime/mapped-weights.ts): the rewritten model
 * gives onnxruntime's outputs bit for bit, keeps every byte it does not move, is written beside
 * the original until committed, and its mapped weights cost resident memory only for the pages
 * a run reads (the point of it: a CLIP text tower's token table).
 */
import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { onnx } from "onnx-proto";
import { prepareMappedWeights, type WeightLimits } from "../../src/runtime/mapped-weights.ts";
import type { SessionSettings } from "../../src/runtime/onnx-session.ts";
import { createNativeSession, type NativeSession, releaseNativeSession, runNativeSession } from "../../src/runtime/ort-capi.ts";
import { createCpuSession, createSession } from "../../src/runtime/session-host.ts";
import { captureLog } from "../support/log-capture.ts";
import { buildModel, weights } from "../support/onnx-builder.ts";
import { tempDir } from "../support/temp.ts";

const SETTINGS: SessionSettings = { inferenceThreads: 1, intraOpThreads: 1, interOpThreads: 1, arena: true, deviceId: "0" };
const SMALL_LIMITS: WeightLimits = { minTensorBytes: 64 << 10, minModelBytes: 64 << 10 };

/** An embedding look-up: `table` rows picked by `ids`, plus a small bias that stays in the graph. */
function lookupModel(rows: number, cols: number, op = "Gather"): Uint8Array {
  return buildModel({
    inputs: [{ name: "ids", type: "int64", shape: ["n"] }],
    outputs: [{ name: "out", type: "float32", shape: ["n", cols] }],
    initializers: [
      { name: "table", dims: [rows, cols], values: weights(rows * cols, 3) },
      { name: "projection", dims: [cols, cols], values: weights(cols * cols, 5) },
      { name: "bias", dims: [cols], values: weights(cols, 7) },
    ],
    nodes: [
      { op, inputs: ["table", "ids"], outputs: ["rows"] },
      { op: "MatMul", inputs: ["rows", "projection"], outputs: ["projected"] },
      { op: "Add", inputs: ["projected", "bias"], outputs: ["out"] },
    ],
  });
}

function modelIn(bytes: Uint8Array): { dir: string; path: string } {
  const dir = tempDir();
  const path = join(dir, "model.onnx");
  writeFileSync(path, bytes);
  return { dir, path };
}

function lookUp(session: NativeSession, ids: number[]): Float32Array {
  const [out] = runNativeSession(session.handle, session.outputNames, {
    ids: { type: "int64", data: BigInt64Array.from(ids.map(BigInt)), dims: [ids.length] },
  });
  return out!.data;
}

function withSession<T>(path: string, body: (session: NativeSession) => T): T {
  const session = createNativeSession(path, SETTINGS);
  try {
    return body(session);
  } finally {
    releaseNativeSession(session.handle);
  }
}

describe("moving a model's large weights into a mapped file", () => {
  test("the rewritten model gives the original's outputs bit for bit; large tensors moved, aligned, byte for byte; small ones kept", () => {
    const original = lookupModel(512, 256);
    const { dir, path } = modelIn(original);
    const ids = [0, 7, 511, 7, 300];
    const expected = withSession(path, (s) => lookUp(s, ids));

    const mapped = prepareMappedWeights(path, SMALL_LIMITS)!;
    expect(mapped).not.toBeNull();
    expect(mapped.tensors).toBe(2); // the table (512 KB) and the projection (256 KB); not the 1 KB bias
    expect(mapped.bytes).toBe((512 * 256 + 256 * 256) * 4);
    // Until committed the original stays as it was.
    expect(readFileSync(path).equals(original)).toBe(true);
    expect(withSession(mapped.graphPath, (s) => lookUp(s, ids))).toEqual(expected);

    const data = readFileSync(join(dir, "model.onnx.data"));
    const before = onnx.ModelProto.decode(original).graph!.initializer!;
    const after = onnx.ModelProto.decode(readFileSync(mapped.graphPath)).graph!.initializer!;
    expect(after.map((t) => t.name)).toEqual(before.map((t) => t.name));
    for (const [i, tensor] of after.entries()) {
      const raw = before[i]!.rawData!;
      if (raw.length < SMALL_LIMITS.minTensorBytes) {
        expect(tensor.rawData).toEqual(raw);
        expect(tensor.dataLocation ?? 0).toBe(0);
        continue;
      }
      expect(tensor.dataLocation).toBe(onnx.TensorProto.DataLocation.EXTERNAL);
      expect(tensor.rawData?.length ?? 0).toBe(0);
      const entries = Object.fromEntries(tensor.externalData!.map((e) => [e.key, e.value]));
      expect(entries.location).toBe("model.onnx.data");
      expect(Number(entries.length)).toBe(raw.length);
      expect(Number(entries.offset) % (16 << 10)).toBe(0);
      expect(data.subarray(Number(entries.offset), Number(entries.offset) + raw.length).equals(raw)).toBe(true);
    }

    mapped.commit();
    expect(readdirSync(dir).sort()).toEqual(["model.onnx", "model.onnx.data"]);
    expect(statSync(path).size).toBeLessThan(original.length - mapped.bytes + 4096);
    expect(withSession(path, (s) => lookUp(s, ids))).toEqual(expected);
    // Already mapped: nothing more to do.
    expect(prepareMappedWeights(path, SMALL_LIMITS)).toBeNull();
  });

  test("every field it does not move is copied as it is, unknown ones included", () => {
    // Field 1000 (length-delimited), unknown to onnx.proto, appended to the model: a newer schema's field.
    const unknown = Uint8Array.from([0xc2, 0x3e, 5, ...new TextEncoder().encode("hello")]);
    const original = lookupModel(512, 256);
    const { path } = modelIn(Uint8Array.from([...original, ...unknown]));
    const mapped = prepareMappedWeights(path, SMALL_LIMITS)!;
    const rewritten = new Uint8Array(readFileSync(mapped.graphPath));
    expect(Buffer.from(rewritten.subarray(rewritten.length - unknown.length)).equals(Buffer.from(unknown))).toBe(true);
    const [was, now] = [onnx.ModelProto.decode(original), onnx.ModelProto.decode(rewritten)];
    expect(now.graph!.node).toEqual(was.graph!.node);
    expect(now.graph!.input).toEqual(was.graph!.input);
    expect(now.opsetImport).toEqual(was.opsetImport);
    expect(now.producerName).toBe(was.producerName);
    mapped.abandon();
  });

  test("a model onnx inlined again (data_location DEFAULT written out) is rewritten too", () => {
    // What onnx's load_external_data_for_model leaves, and saves so (upstream's batch-axis rewrite does).
    const model = onnx.ModelProto.decode(lookupModel(512, 256));
    for (const tensor of model.graph!.initializer!) tensor.dataLocation = onnx.TensorProto.DataLocation.DEFAULT;
    const original = onnx.ModelProto.encode(model).finish();
    const { path } = modelIn(original);
    const ids = [5, 6];
    const expected = withSession(path, (s) => lookUp(s, ids));
    const mapped = prepareMappedWeights(path, SMALL_LIMITS);
    expect(mapped).not.toBeNull();
    expect(withSession(mapped!.graphPath, (s) => lookUp(s, ids))).toEqual(expected);
    const tensors = onnx.ModelProto.decode(readFileSync(mapped!.graphPath)).graph!.initializer!;
    expect(tensors.map((t) => t.dataLocation)).toEqual([onnx.TensorProto.DataLocation.EXTERNAL, onnx.TensorProto.DataLocation.EXTERNAL, 0]);
    mapped!.abandon();
  });

  test("nothing is written for a model below the limits, nor for a file that is not a model", () => {
    const small = modelIn(lookupModel(16, 16));
    expect(prepareMappedWeights(small.path, SMALL_LIMITS)).toBeNull();
    expect(readdirSync(small.dir)).toEqual(["model.onnx"]);
    // The defaults (16 MiB) leave this 768 KB model alone.
    const medium = modelIn(lookupModel(512, 256));
    expect(prepareMappedWeights(medium.path)).toBeNull();

    const notModel = modelIn(lookupModel(512, 256).subarray(0, 100_000));
    expect(() => prepareMappedWeights(notModel.path, SMALL_LIMITS)).toThrow(/runs past its message|end of file/);
    expect(readdirSync(notModel.dir)).toEqual(["model.onnx"]);
  });

  test("abandoning leaves the original alone, without the files it wrote", () => {
    const original = lookupModel(512, 256);
    const { dir, path } = modelIn(original);
    prepareMappedWeights(path, SMALL_LIMITS)!.abandon();
    expect(readdirSync(dir)).toEqual(["model.onnx"]);
    expect(readFileSync(path).equals(original)).toBe(true);
  });
});

describe("the CPU session of a large model", () => {
  // 32,768 × 512 floats: 64 MB, of which a run reads two rows.
  const table = { rows: 32_768, cols: 512 };

  test.skipIf(!existsSync("/proc/self/status"))(
    "maps its weights: memory grows by what a run reads, not the table; the same outputs as the plain session",
    () => {
      const { dir, path } = modelIn(lookupModel(table.rows, table.cols));
      const plainPath = join(dir, "plain.onnx");
      writeFileSync(plainPath, readFileSync(path));
      // Measured in a process of its own: this one's garbage (the model's bytes as they were built)
      // is handed back to the OS whenever the collector decides, which would move its RSS by as much.
      const child = Bun.spawnSync([process.execPath, join(import.meta.dir, "../support/mapped-weights-probe.ts"), path, plainPath], { stderr: "pipe" });
      expect(child.stderr.toString()).toBe("");
      const result = JSON.parse(child.stdout.toString()) as { log: string[]; mapped: number[]; plain: number[]; mappedGrowthMb: number; plainGrowthMb: number };
      expect(result.log.some((line) => line.includes("2 weight tensors (68 MB) moved to model.onnx.data"))).toBe(true);
      // The session was made from the rewrite before its commit, but under the model's own name.
      if (process.arch === "x64") expect(result.log.some((line) => line.includes(`could not time ${path} on a 2 input`))).toBe(true);
      expect(readdirSync(dir).sort()).toEqual(["model.onnx", "model.onnx.data", "plain.onnx", "warm-up.onnx"]);
      expect(result.mapped).toEqual(result.plain);
      // The plain session holds the 64 MB table (67–68 MB measured); the mapped one the pages of two
      // of its rows (17–18 MB: the session's own memory, which the plain one has too).
      expect(result.plainGrowthMb).toBeGreaterThan(60);
      expect(result.mappedGrowthMb).toBeLessThan(result.plainGrowthMb - 32);
    },
  );

  test("loads the original as it was when the weights cannot be moved or the rewritten model cannot be loaded", () => {
    const unwritable = modelIn(lookupModel(table.rows, table.cols));
    // A folder where the weights file would go: the rename onto it fails.
    mkdirSync(join(unwritable.dir, "model.onnx.data"));
    let session: NativeSession | undefined;
    const warned = captureLog("warn", () => {
      session = createCpuSession(unwritable.path, SETTINGS).shared;
    });
    expect(lookUp(session!, [3]).length).toBe(table.cols);
    releaseNativeSession(session!.handle);
    expect(warned.some((line) => line.includes("weights left in the model file"))).toBe(true);
    expect(readdirSync(unwritable.dir).sort()).toEqual(["model.onnx", "model.onnx.data"]);

    // onnxruntime rejects the rewritten model (an unknown operator): abandoned, then the original fails the same way.
    const unloadable = modelIn(lookupModel(table.rows, table.cols, "NoSuchOperator"));
    const bytes = readFileSync(unloadable.path);
    const lines = captureLog("warn", () => {
      expect(() => createCpuSession(unloadable.path, SETTINGS)).toThrow(/NoSuchOperator/);
    });
    expect(lines.some((line) => line.includes("could not load it with its weights mapped"))).toBe(true);
    expect(readdirSync(unloadable.dir)).toEqual(["model.onnx"]);
    expect(readFileSync(unloadable.path).equals(bytes)).toBe(true);
  });

  test("the service's CPU session maps a model's weights where the CPU is the only provider, unless told not to", async () => {
    const open = async (settings: SessionSettings, providers: string[]) => {
      const { dir, path } = modelIn(lookupModel(table.rows, table.cols));
      const created = await createSession(path, settings, providers);
      if (!("shared" in created)) throw new Error("expected a CPU session");
      expect(lookUp(created.shared, [3]).length).toBe(table.cols);
      releaseNativeSession(created.shared.handle);
      return readdirSync(dir).sort();
    };
    expect(await open(SETTINGS, ["cpu"])).toEqual(["model.onnx", "model.onnx.data"]);
    // MACHINE_LEARNING_MAP_WEIGHTS=false.
    expect(await open({ ...SETTINGS, mapWeights: false }, ["cpu"])).toEqual(["model.onnx"]);
    // CoreML first, as on a Mac: it fails here (no such provider in this build), and the CPU takes
    // the model as the fallback; a later load would hand CoreML the file again, so it stays as it was.
    expect(await open(SETTINGS, ["coreml", "cpu"])).toEqual(["model.onnx"]);
  });
});
