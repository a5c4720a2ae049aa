/**
 * ONNX sessions as the rest of the service sees them. The sessions themselves live on one
 * dedicated inference thread (a worker running `worker.ts`), because under Bun onnxruntime-node's
 * `session.run` keeps the calling JS thread busy for the whole run (measured: a 55 ms run stalls
 * the event loop ~40-115 ms), which on the main thread would stall /ping and every other request.
 * On their own thread, runs are queued there while the event loop stays free; onnxruntime's
 * intra-op threads still use every core for each run.
 */
import type { HostedSession } from "./session-host.ts";
import { collectTransferables } from "./transfer.ts";

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

/** Messages the inference thread understands (handled in worker.ts). */
export type SessionRequest =
  | { op: "create"; path: string; settings: SessionSettings }
  | { op: "run"; session: number; feeds: Record<string, Feed> }
  | { op: "release"; session: number };

export type SessionDescription = Pick<HostedSession, "inputs" | "outputNames" | "provider"> & { session: number };

class InferenceThread {
  private readonly worker = new Worker(new URL("./worker.ts", import.meta.url).href);
  private readonly pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  private nextId = 1;

  constructor() {
    this.worker.addEventListener("message", (event: MessageEvent) => {
      const { id, ok, value, error } = event.data as { id: number; ok: boolean; value?: unknown; error?: string };
      const waiter = this.pending.get(id);
      if (!waiter) return;
      this.pending.delete(id);
      if (ok) waiter.resolve(value);
      else waiter.reject(new Error(error));
    });
    // An idle inference thread must not keep a finished process (CLI, tests) alive.
    this.worker.unref();
  }

  call<T>(request: SessionRequest, transfer: ArrayBuffer[] = []): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.worker.postMessage({ id, session: request }, transfer);
    });
  }
}

let thread: InferenceThread | undefined;
const inferenceThread = () => (thread ??= new InferenceThread());

/** A feed whose view covers its whole buffer can be handed over; a slice of a larger one is copied first. */
function ownedFeed(feed: Feed): Feed {
  const data = feed.data;
  const whole = data.byteOffset === 0 && data.byteLength === data.buffer.byteLength && data.buffer instanceof ArrayBuffer;
  return whole ? feed : { ...feed, data: data.slice() as Feed["data"] };
}

export class OnnxSession {
  private constructor(
    private readonly id: number,
    readonly inputs: readonly InputSpec[],
    readonly outputNames: readonly string[],
    readonly provider: string,
  ) {}

  static async create(modelPath: string, settings: SessionSettings): Promise<OnnxSession> {
    const description = await inferenceThread().call<SessionDescription>({ op: "create", path: modelPath, settings });
    return new OnnxSession(description.session, description.inputs, description.outputNames, description.provider);
  }

  input(name: string): InputSpec | undefined {
    return this.inputs.find((input) => input.name === name);
  }

  /** Runs the model; the feeds' buffers are handed to the inference thread and must not be reused. */
  run(feeds: Record<string, Feed>): Promise<OutputTensor[]> {
    const owned = Object.fromEntries(Object.entries(feeds).map(([name, feed]) => [name, ownedFeed(feed)]));
    return inferenceThread().call<OutputTensor[]>({ op: "run", session: this.id, feeds: owned }, collectTransferables(owned));
  }

  async release(): Promise<void> {
    await inferenceThread().call({ op: "release", session: this.id });
  }
}

export { availableProviders } from "./session-host.ts";
