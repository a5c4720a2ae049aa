/**
 * Whether a convolutional model runs faster with onnxruntime's NCHWc layout or without it, on
 * this CPU, decided by timing both once.
 *
 * At its highest optimisation level (ours, upstream's, and onnxruntime's default) onnxruntime
 * rewrites convolutions into NCHWc: channels in blocks of 8 (AVX2) or 16 (AVX-512) and MLAS's
 * direct-convolution kernels. Usually the faster, not always, and which way depends on the model
 * and the CPU (onnxruntime issue #26992). Measured on an Intel Xeon VM with AVX-512, one thread:
 * the ArcFace embedder 64 ms with it against 20 without, while SCRFD ran 70 against 91 and the
 * OCR detector 145 against 199. Its outputs differ from the other layout's in float rounding only
 * (3.4e-7 at most on the embedder's unit vector), as they do between CPUs anyway; the parity
 * with insightface is measured with tolerances for that reason (test/parity/faces.test.ts).
 *
 * So a model that declares the input it typically gets (`layoutProbe`) is created both ways, each
 * timed on zeros of that shape (a convolution's speed does not depend on the values), and the
 * faster kept; the choice is remembered for the next load of the same file in this thread. Only
 * on x64: MLAS has NCHWc kernels nowhere else, so elsewhere both would be the same session.
 */
import { log } from "../log.ts";
import type { Feed, SessionSettings } from "./onnx-session.ts";
import { createNativeSession, type NativeSession, releaseNativeSession, runNativeSession } from "./ort-capi.ts";

/** How to make, time and drop one kind of session; `nchwc` false leaves the NCHWc layout out. */
export interface LayoutTrial<S> {
  create(nchwc: boolean): S;
  /** Milliseconds of one run. */
  timeRun(session: S): number;
  release(session: S): void;
}

export interface LayoutChoice<S> {
  session: S;
  nchwc: boolean;
  /** The best timed run each way; undefined when the choice was remembered. */
  timings?: { withNchwc: number; withoutNchwc: number };
}

/** Runs timed each way after one untimed run (a session's first run sets up its memory and caches). */
const TIMED_RUNS = 2;

const remembered = new Map<string, boolean>();

/**
 * The faster of the two sessions (the slower released), or the remembered kind for `key`. The
 * runs alternate between the two, so that a busy moment slows both alike; the best run of each
 * counts. A tie keeps onnxruntime's default.
 */
export function chooseLayout<S>(key: string, trial: LayoutTrial<S>): LayoutChoice<S> {
  const known = remembered.get(key);
  if (known !== undefined) return { session: trial.create(known), nchwc: known };
  const withNchwc = trial.create(true);
  let withoutNchwc: S;
  try {
    withoutNchwc = trial.create(false);
  } catch (error) {
    trial.release(withNchwc);
    throw error;
  }
  const best = { withNchwc: Infinity, withoutNchwc: Infinity };
  try {
    for (let round = 0; round <= TIMED_RUNS; round++) {
      const first = trial.timeRun(withNchwc);
      const second = trial.timeRun(withoutNchwc);
      if (round === 0) continue;
      best.withNchwc = Math.min(best.withNchwc, first);
      best.withoutNchwc = Math.min(best.withoutNchwc, second);
    }
  } catch (error) {
    trial.release(withNchwc);
    trial.release(withoutNchwc);
    throw error;
  }
  const nchwc = best.withNchwc <= best.withoutNchwc;
  trial.release(nchwc ? withoutNchwc : withNchwc);
  remembered.set(key, nchwc);
  return { session: nchwc ? withNchwc : withoutNchwc, nchwc, timings: best };
}

/**
 * A CPU session of `modelPath` with the settings given, in the faster layout where the settings
 * carry a `layoutProbe` and the CPU is x64 (`arch`, the process's by default). A model the probe
 * cannot run (another input signature than the one the model class declared) gets onnxruntime's
 * default, as without a probe. `model` names it in the log and for the remembered choice, where
 * the file loaded is a stand-in for it (the rewrite of mapped-weights.ts, before its commit).
 */
export function createLayoutTunedSession(
  modelPath: string,
  settings: SessionSettings,
  { arch = process.arch, model = modelPath }: { arch?: string; model?: string } = {},
): NativeSession {
  const probe = settings.layoutProbe;
  if (!probe || arch !== "x64") return createNativeSession(modelPath, settings);
  const started = performance.now();
  let choice: LayoutChoice<NativeSession>;
  try {
    choice = chooseLayout(`${model}|${settings.intraOpThreads}`, {
      create: (nchwc) => createNativeSession(modelPath, { ...settings, nchwcLayout: nchwc }),
      timeRun: (session) => timeZeroRun(session, probe),
      release: (session) => releaseNativeSession(session.handle),
    });
  } catch (error) {
    log.warn(`could not time ${model} on a ${probe.join("x")} input, keeping onnxruntime's default layout: ${String(error)}`);
    return createNativeSession(modelPath, settings);
  }
  if (choice.timings) {
    const { withNchwc, withoutNchwc } = choice.timings;
    log.info(
      `${model}: ${choice.nchwc ? "with" : "without"} onnxruntime's NCHWc layout (a ${probe.join("x")} run ${withNchwc.toFixed(1)} ms with, ` +
        `${withoutNchwc.toFixed(1)} ms without; chosen in ${(performance.now() - started).toFixed(0)} ms)`,
    );
  }
  return choice.session;
}

/** One run on zeros: the probe's sizes where the model's input has none of its own. */
function timeZeroRun(session: NativeSession, probe: readonly number[]): number {
  const [input, ...others] = session.inputs;
  if (!input || others.length > 0 || input.type !== "float32" || input.shape.length !== probe.length) {
    throw new Error(`expected one float32 input of rank ${probe.length}`);
  }
  const dims = probe.map((size, axis) => {
    const own = input.shape[axis];
    return typeof own === "number" ? own : size;
  });
  const feed: Feed = { type: "float32", data: new Float32Array(dims.reduce((a, b) => a * b, 1)), dims };
  const started = performance.now();
  runNativeSession(session.handle, session.outputNames, { [input.name]: feed });
  return performance.now() - started;
}
