/**
 * The CPU sessions of a process share one onnxruntime arena (runtime/ort-capi.ts
 * `registerSharedArena`), registered once even when sessions are created on two inference threads
 * at once, and handed back when the service has been idle a while and when a session is released. Measured
 * as the resident memory of a process of its own (support/arena-probe.ts): each run of the probe's
 * model grows it by about 230 MB.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { activationHeavyModel } from "../support/onnx-builder.ts";
import { tempDir } from "../support/temp.ts";

let probe: Record<string, number>;

beforeAll(() => {
  const dir = tempDir();
  const model = activationHeavyModel();
  for (const name of ["a.onnx", "b.onnx"]) writeFileSync(join(dir, name), model);
  const run = Bun.spawnSync([process.execPath, join(import.meta.dir, "../support/arena-probe.ts"), join(dir, "a.onnx"), join(dir, "b.onnx")]);
  if (run.exitCode !== 0) throw new Error(`arena probe failed: ${run.stderr.toString()}`);
  probe = JSON.parse(run.stdout.toString());
}, 60_000);

describe("the shared arena", () => {
  test("the two sessions were created on two inference threads", () => {
    expect(probe.threads).toBe(2);
  });

  test("holds a run's activations after it: the next run reuses them", () => {
    expect(probe.afterA! - probe.created!).toBeGreaterThan(100);
  });

  test("serves a second session, created on the other thread, without growing by another run", () => {
    expect(probe.afterB! - probe.afterA!).toBeLessThan(40);
  });

  test("hands what no run holds back when the service has been idle a while", () => {
    expect(probe.afterB! - probe.afterTrim!).toBeGreaterThan(100);
  });

  test("hands a released session's runs back with it", () => {
    expect(probe.afterA2! - probe.afterTrim!).toBeGreaterThan(100);
    expect(probe.afterA2! - probe.afterReleaseA!).toBeGreaterThan(100);
  });
});
