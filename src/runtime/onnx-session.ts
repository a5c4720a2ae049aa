/**
 * ONNX Runtime sessions with upstream's session policy (spec §2.8): provider preference
 * CUDA > CoreML > CPU filtered by what this onnxruntime-node build offers, CPU arena per
 * `MODEL_ARENA`, inter/intra-op threads, parallel execution when inter-op threads > 1.
 * `run` executes on onnxruntime's own threads, so the JS event loop stays free while it computes.
 */
import * as ort from "onnxruntime-node";
import { log } from "../log.ts";

export interface SessionSettings {
  intraOpThreads: number;
  interOpThreads: number;
  arena: boolean;
  deviceId: string;
}

export type TensorElement = "float32" | "int32" | "int64" | "uint8";

export interface InputSpec {
  readonly name: string;
  readonly type: TensorElement | string;
  /** Static sizes as numbers, symbolic or unknown sizes as strings/undefined. */
  readonly shape: ReadonlyArray<number | string | undefined>;
}

export interface OutputTensor {
  readonly dims: readonly number[];
  readonly data: Float32Array;
}

export type Feed = { type: TensorElement; data: Float32Array | Int32Array | BigInt64Array | Uint8Array; dims: number[] };

const PROVIDER_PREFERENCE = ["cuda", "coreml", "cpu"] as const;

/** Providers to try, best first, among those this onnxruntime-node build ships. */
export function availableProviders(): string[] {
  const supported = new Set(ort.listSupportedBackends().map((backend) => backend.name));
  return PROVIDER_PREFERENCE.filter((name) => name === "cpu" || supported.has(name));
}

function providerConfig(name: string, settings: SessionSettings): ort.InferenceSession.ExecutionProviderConfig {
  if (name === "cuda") return { name: "cuda", deviceId: Number(settings.deviceId) || 0 };
  return name;
}

export class OnnxSession {
  private constructor(
    private readonly session: ort.InferenceSession,
    readonly inputs: readonly InputSpec[],
    readonly outputNames: readonly string[],
    readonly provider: string,
  ) {}

  /** Loads a model file; falls back to CPU (with a warning) when an accelerator provider fails. */
  static async create(modelPath: string, settings: SessionSettings): Promise<OnnxSession> {
    const providers = availableProviders();
    let lastError: unknown;
    for (const provider of providers) {
      try {
        const session = await ort.InferenceSession.create(modelPath, {
          executionProviders: [providerConfig(provider, settings)],
          intraOpNumThreads: settings.intraOpThreads,
          interOpNumThreads: settings.interOpThreads,
          executionMode: settings.interOpThreads > 1 ? "parallel" : "sequential",
          enableCpuMemArena: settings.arena,
          graphOptimizationLevel: "all",
        });
        return new OnnxSession(session, describeInputs(session), session.outputNames, provider);
      } catch (error) {
        lastError = error;
        if (provider !== "cpu") log.warn(`${provider} provider failed for ${modelPath}, falling back: ${String(error)}`);
      }
    }
    throw lastError;
  }

  input(name: string): InputSpec | undefined {
    return this.inputs.find((input) => input.name === name);
  }

  async run(feeds: Record<string, Feed>): Promise<OutputTensor[]> {
    const tensors: Record<string, ort.Tensor> = {};
    for (const [name, feed] of Object.entries(feeds)) tensors[name] = new ort.Tensor(feed.type, feed.data, feed.dims);
    const results = await this.session.run(tensors);
    return this.outputNames.map((name) => {
      const tensor = results[name]!;
      const data = tensor.data instanceof Float32Array ? tensor.data : Float32Array.from(tensor.data as ArrayLike<number>);
      return { dims: tensor.dims, data };
    });
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

function describeInputs(session: ort.InferenceSession): InputSpec[] {
  return session.inputMetadata.map((meta) => ({
    name: meta.name,
    type: meta.isTensor ? meta.type : "unknown",
    shape: meta.isTensor ? meta.shape.map((dim) => (typeof dim === "number" && dim >= 0 ? dim : (dim as string | undefined))) : [],
  }));
}
