/**
 * The onnxruntime sessions themselves, created on an inference thread (see onnx-session.ts for
 * why not on the main thread). Upstream's session policy (spec §2.8): provider preference
 * CUDA > CoreML > CPU filtered by what this onnxruntime-node build can use, CPU arena per
 * `MODEL_ARENA`, inter/intra-op threads, parallel execution when inter-op threads > 1; plus
 * intra-op threads that sleep when idle, but for a search query's (intra-op-spin.ts).
 *
 * A CPU session is created through onnxruntime's C API (ort-capi.ts) so that every inference
 * thread can run it; an accelerator's session (CUDA, CoreML) goes through onnxruntime-node and
 * stays on the thread that created it: one device runs one model's runs one after the other anyway.
 */
import * as ort from "onnxruntime-node";
import { existsSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { log } from "../log.ts";

import type { Feed, InputSpec, OutputTensor, SessionSettings } from "./onnx-session.ts";
import { intraOpSpinEntries } from "./intra-op-spin.ts";
import type { NativeSession } from "./ort-capi.ts";
import { createLayoutTunedSession } from "./layout-choice.ts";
import { type MappedWeights, prepareMappedWeights } from "./mapped-weights.ts";
import { type BestClasses, bestClasses } from "./best-class.ts";
import { openWeightSharing, releaseWeightSharing, settleWeightSharing, type WeightSharing } from "./sequence-variants.ts";

const PROVIDER_PREFERENCE = ["cuda", "coreml", "cpu"] as const;

/**
 * onnxruntime-node lists CUDA as supported but not bundled: its provider libraries are a separate
 * download next to the binding. Only offer CUDA when they are there, so a CPU-only install does
 * not log a failed library load for every model.
 */
function cudaLibrariesInstalled(): boolean {
  try {
    const bindingDir = join(dirname(require.resolve("onnxruntime-node")), "..", "bin", "napi-v6", process.platform, process.arch);
    return existsSync(join(bindingDir, "libonnxruntime_providers_cuda.so"));
  } catch {
    return false;
  }
}

/** Providers to try, best first, among those this onnxruntime-node build can use here. */
export function availableProviders(): string[] {
  const backends = ort.listSupportedBackends();
  const usable = new Set(backends.filter((b) => b.bundled || (b.name === "cuda" && cudaLibrariesInstalled())).map((b) => b.name));
  return PROVIDER_PREFERENCE.filter((name) => name === "cpu" || usable.has(name));
}

function providerConfig(name: string, settings: SessionSettings): ort.InferenceSession.ExecutionProviderConfig {
  if (name === "cuda") return { name: "cuda", deviceId: Number(settings.deviceId) || 0 };
  return name;
}

/** An accelerator's session, held by the inference thread that created it. */
export interface HostedSession {
  readonly session: ort.InferenceSession;
  readonly inputs: InputSpec[];
  readonly outputNames: readonly string[];
  readonly provider: string;
}

/**
 * Loads a model file: on the best provider available, falling back to CPU (with a warning) when an
 * accelerator's fails. A CPU session is shared (any thread runs it), an accelerator's hosted.
 */
export async function createSession(
  modelPath: string,
  settings: SessionSettings,
  providers: readonly string[] = availableProviders(),
): Promise<{ shared: NativeSession; sharing?: WeightSharing } | { hosted: HostedSession }> {
  let lastError: unknown;
  for (const provider of providers) {
    if (provider === "cpu") {
      // Rewritten only where no accelerator will ever load the file: CoreML's provider has crashed
      // on models with external data (onnxruntime #28005), and an accelerator copies its weights
      // to the device anyway.
      const mapped = providers.length === 1 && settings.mapWeights !== false;
      return mapped ? createCpuSession(modelPath, settings) : { shared: createLayoutTunedSession(modelPath, settings) };
    }
    try {
      const session = await ort.InferenceSession.create(modelPath, {
        executionProviders: [providerConfig(provider, settings)],
        intraOpNumThreads: settings.intraOpThreads,
        interOpNumThreads: settings.interOpThreads,
        executionMode: settings.interOpThreads > 1 ? "parallel" : "sequential",
        enableCpuMemArena: settings.arena,
        graphOptimizationLevel: "all",
        extra: intraOpSpinEntries(settings.spinMicroseconds ?? 0),
      });
      return { hosted: { session, inputs: describeInputs(session), outputNames: session.outputNames, provider } };
    } catch (error) {
      lastError = error;
      log.warn(`${provider} provider failed for ${modelPath}, falling back: ${String(error)}`);
    }
  }
  throw lastError;
}

/**
 * A CPU session whose large weights are memory-mapped from the model's folder (mapped-weights.ts):
 * the file is rewritten once, on its first load here, and kept rewritten only when onnxruntime
 * loaded it; whatever fails on the way loads the original as it was. With `shareWeights`, the
 * session takes those weights from a mapping of ours that its shorter-sequence sessions will share
 * (sequence-variants.ts); where that fails, it maps them itself as any other.
 */
export function createCpuSession(modelPath: string, settings: SessionSettings): { shared: NativeSession; sharing?: WeightSharing } {
  let mapped: MappedWeights | null = null;
  const started = performance.now();
  try {
    mapped = prepareMappedWeights(modelPath);
  } catch (error) {
    log.warn(`${modelPath}: weights left in the model file, so they are copied into memory: ${String(error)}`);
  }
  const graphPath = mapped?.graphPath ?? modelPath;
  let created: { shared: NativeSession; sharing?: WeightSharing };
  try {
    created = createOnSharedWeights(graphPath, modelPath, settings) ?? { shared: createLayoutTunedSession(graphPath, settings, { model: modelPath }) };
  } catch (error) {
    if (!mapped) throw error;
    mapped.abandon();
    log.warn(`${modelPath}: onnxruntime could not load it with its weights mapped, loading the original: ${String(error)}`);
    return { shared: createLayoutTunedSession(modelPath, settings) };
  }
  if (!mapped) return created;
  mapped.commit();
  log.info(
    `${modelPath}: ${mapped.tensors} weight tensors (${(mapped.bytes / 1e6).toFixed(0)} MB) moved to ${basename(modelPath)}.data, ` +
      `mapped instead of copied (in ${(performance.now() - started).toFixed(0)} ms, once)`,
  );
  return created;
}

/** The session on weights mapped for sharing, where `settings` ask for it and the graph keeps them outside; else null. */
function createOnSharedWeights(graphPath: string, modelPath: string, settings: SessionSettings): { shared: NativeSession; sharing: WeightSharing } | null {
  if (!settings.shareWeights) return null;
  let sharing: WeightSharing | null;
  try {
    sharing = openWeightSharing(graphPath);
  } catch (error) {
    log.warn(`${modelPath}: its weights could not be mapped for sharing: ${String(error)}`);
    return null;
  }
  if (!sharing) return null;
  try {
    const options = { ...settings, prepackedWeights: sharing.container, sharedInitializers: sharing.weights.initializers };
    const shared = createLayoutTunedSession(graphPath, options, { model: modelPath });
    settleWeightSharing(sharing);
    return { shared, sharing };
  } catch (error) {
    releaseWeightSharing(sharing);
    log.warn(`${modelPath}: could not load it on weights mapped for sharing, loading it as any other: ${String(error)}`);
    return null;
  }
}

/** One run; with `reduce`, each output comes back as its best class per position (best-class.ts). */
export async function runHostedSession(hosted: HostedSession, feeds: Record<string, Feed>, reduce: boolean): Promise<Array<OutputTensor | BestClasses>> {
  const tensors: Record<string, ort.Tensor> = {};
  for (const [name, feed] of Object.entries(feeds)) tensors[name] = new ort.Tensor(feed.type, feed.data, feed.dims);
  const results = await hosted.session.run(tensors);
  return hosted.outputNames.map((name) => {
    const tensor = results[name]!;
    const data = tensor.data instanceof Float32Array ? tensor.data : Float32Array.from(tensor.data as ArrayLike<number>);
    return reduce ? bestClasses(data, tensor.dims) : { dims: [...tensor.dims], data };
  });
}

function describeInputs(session: ort.InferenceSession): InputSpec[] {
  return session.inputMetadata.map((meta) => ({
    name: meta.name,
    type: meta.isTensor ? meta.type : "unknown",
    shape: meta.isTensor ? meta.shape.map((dim) => (typeof dim === "number" && dim >= 0 ? dim : (dim as string | undefined))) : [],
  }));
}
