/**
 * onnxruntime's C API, called through bun:ffi, for CPU sessions that every inference thread can
 * run. onnxruntime-node keeps a session inside one JS thread's wrapper object and runs it on that
 * thread, so one model could only ever use one inference thread: a library scan of one kind (a
 * smart-search re-index, a face scan) ran on one core of two, half what two plain processes get
 * (bench/RESULTS.md). onnxruntime itself allows concurrent `Run` calls on one session from any
 * number of threads, sharing the weights and the arena; a session created here is a native
 * pointer that any inference thread can pass to `Run`, so one copy of a model serves all of them.
 *
 * Same library as onnxruntime-node's (the one it ships, loaded from the same place), the session
 * options session-host.ts sets through it but for the arena, which the CPU sessions of the process
 * share (`registerSharedArena`). Only the functions below are bound; their places in
 * the `OrtApi` function table come from onnxruntime_c_api.h, where entries are only ever
 * appended, so the table of API version 13 (onnxruntime 1.13) holds them at these places in every
 * later release.
 */
import { CFunction, CString, dlopen, FFIType, ptr, read, toArrayBuffer, type Pointer } from "bun:ffi";
import { dirname, join } from "node:path";
import { nativeDir } from "../native/loader.ts";
import { type BestClasses, bestClasses } from "./best-class.ts";
import { intraOpSpinEntries } from "./intra-op-spin.ts";
import { addModel } from "./tiny-onnx.ts";
import type { Feed, InputSpec, OutputTensor, TensorElement } from "./onnx-session.ts";

const API_VERSION = 13;

/** Places in the OrtApi function table (onnxruntime_c_api.h, `struct OrtApi`, counted from 0). */
const FN = {
  GetErrorMessage: 2,
  CreateEnv: 3,
  CreateSession: 7,
  CreateSessionFromArray: 8,
  Run: 9,
  CreateSessionOptions: 10,
  SetSessionExecutionMode: 13,
  DisableMemPattern: 17,
  EnableCpuMemArena: 18,
  DisableCpuMemArena: 19,
  SetSessionGraphOptimizationLevel: 23,
  SetIntraOpNumThreads: 24,
  SetInterOpNumThreads: 25,
  SessionGetInputCount: 30,
  SessionGetOutputCount: 31,
  SessionGetInputTypeInfo: 33,
  SessionGetInputName: 36,
  SessionGetOutputName: 37,
  CreateRunOptions: 39,
  CreateTensorWithDataAsOrtValue: 49,
  GetTensorMutableData: 51,
  CastTypeInfoToTensorInfo: 55,
  GetTensorElementType: 60,
  GetDimensionsCount: 61,
  GetDimensions: 62,
  GetTensorTypeAndShape: 65,
  CreateCpuMemoryInfo: 69,
  AllocatorFree: 76,
  GetAllocatorWithDefaultOptions: 78,
  ReleaseStatus: 93,
  ReleaseMemoryInfo: 94,
  ReleaseSession: 95,
  ReleaseValue: 96,
  ReleaseRunOptions: 97,
  ReleaseTypeInfo: 98,
  ReleaseTensorTypeAndShapeInfo: 99,
  ReleaseSessionOptions: 100,
  AddSessionConfigEntry: 130,
  CreateAndRegisterAllocator: 144,
  AddInitializer: 150,
  AddRunConfigEntry: 165,
  CreatePrepackedWeightsContainer: 166,
  ReleasePrepackedWeightsContainer: 167,
  CreateSessionWithPrepackedWeightsContainer: 168,
  CreateSessionFromArrayWithPrepackedWeightsContainer: 169,
} as const;

/** ONNXTensorElementDataType values, and the bytes per element of those we feed. */
const ELEMENT_TYPES: Record<TensorElement, { code: number; bytes: number }> = {
  float32: { code: 1, bytes: 4 },
  uint8: { code: 2, bytes: 1 },
  int32: { code: 6, bytes: 4 },
  int64: { code: 7, bytes: 8 },
};
const ELEMENT_NAMES = new Map<number, TensorElement>(Object.entries(ELEMENT_TYPES).map(([name, { code }]) => [code, name as TensorElement]));

const LOG_WARNING = 2;
const GRAPH_OPTIMIZE_ALL = 99;
const ALLOCATOR_DEVICE = 0;
const ALLOCATOR_ARENA = 1;
const MEM_TYPE_DEFAULT = 0;

export interface NativeSessionOptions {
  intraOpThreads: number;
  interOpThreads: number;
  /** Take memory from the process's shared arena (`registerSharedArena`); else no arena at all. */
  arena: boolean;
  /** How long idle intra-op threads spin for more work (intra-op-spin.ts); 0 or absent: they sleep. */
  spinMicroseconds?: number;
  /** With `arena`: plan each run's activations as one block of it (`useSharedArena`). */
  memoryPattern?: boolean;
  /**
   * false: without onnxruntime's NCHWc layout (its convolutions in channel blocks, a level-3
   * graph optimisation kept otherwise); see layout-choice.ts. Absent: onnxruntime's default, with.
   */
  nchwcLayout?: boolean;
  /**
   * A container (`createPrepackedWeights`) that keeps the weights onnxruntime re-lays out for its
   * kernels (a MatMul's packed B): sessions of one model created with the same container share
   * those copies instead of each making its own.
   */
  prepackedWeights?: number;
  /** Initializers the session takes from memory of ours instead of its file (shared-weights.ts). */
  sharedInitializers?: readonly SharedInitializer[];
}

/** A tensor over memory the caller keeps (`createTensorOver`), standing in for the model's initializer of that name. */
export interface SharedInitializer {
  readonly name: string;
  readonly value: number;
}

/** A model's graph held in memory, its external weights (mapped-weights.ts) in `folder`. */
export interface GraphInMemory {
  readonly graph: Uint8Array;
  readonly folder: string;
}

/** A created session: its native pointer (valid in every thread of the process) and signature. */
export interface NativeSession {
  readonly handle: number;
  readonly inputs: InputSpec[];
  readonly outputNames: string[];
}

/** Where the onnxruntime library onnxruntime-node loads lives: extracted (executable) or in node_modules. */
function libraryPath(): string {
  const file = process.platform === "darwin" ? "libonnxruntime.1.dylib" : "libonnxruntime.so.1";
  if (nativeDir) return join(nativeDir, "onnxruntime", file);
  const packageDir = dirname(require.resolve("onnxruntime-node/package.json"));
  return join(packageDir, "bin", "napi-v6", process.platform, process.arch, file);
}

type Fn = (...args: unknown[]) => unknown;

/** The bound API of this thread (bun:ffi functions are per JS thread; the pointers they take are not). */
class OrtApi {
  readonly #fns = new Map<keyof typeof FN, Fn>();
  readonly #api: Pointer;
  readonly env: number;
  readonly cpuMemory: number;
  readonly allocator: number;

  constructor() {
    const lib = dlopen(libraryPath(), { OrtGetApiBase: { args: [], returns: FFIType.ptr } });
    const base = lib.symbols.OrtGetApiBase();
    if (!base) throw new Error("onnxruntime: OrtGetApiBase returned nothing");
    const getApi = CFunction({ ptr: read.ptr(base, 0) as Pointer, args: [FFIType.u32], returns: FFIType.ptr });
    const api = getApi(API_VERSION);
    if (!api) throw new Error(`onnxruntime: API version ${API_VERSION} unsupported`);
    this.#api = api;
    // One environment per process: onnxruntime hands every later CreateEnv the same one.
    this.env = this.out((out) => this.call("CreateEnv", [FFIType.i32, FFIType.ptr, FFIType.ptr], LOG_WARNING, cString("immich-ml"), out));
    this.cpuMemory = this.out((out) => this.call("CreateCpuMemoryInfo", [FFIType.i32, FFIType.i32, FFIType.ptr], ALLOCATOR_DEVICE, MEM_TYPE_DEFAULT, out));
    this.allocator = this.out((out) => this.call("GetAllocatorWithDefaultOptions", [FFIType.ptr], out));
  }

  /** Binds the table entry `name` on first use. */
  fn(name: keyof typeof FN, args: FFIType[], returns: FFIType = FFIType.ptr): Fn {
    let bound = this.#fns.get(name);
    if (!bound) {
      const address = read.ptr(this.#api, FN[name] * 8) as Pointer;
      bound = CFunction({ ptr: address, args, returns }) as unknown as Fn;
      this.#fns.set(name, bound);
    }
    return bound;
  }

  /** Calls an entry that returns an OrtStatus*, turning a status into an Error. */
  call(name: keyof typeof FN, args: FFIType[], ...values: unknown[]): void {
    const status = this.fn(name, args)(...values) as Pointer | null;
    if (!status) return;
    const message = String(this.fn("GetErrorMessage", [FFIType.ptr], FFIType.cstring)(status));
    this.fn("ReleaseStatus", [FFIType.ptr], FFIType.void)(status);
    throw new Error(message);
  }

  /** Runs `fill` with a pointer-sized out-parameter and returns what it wrote. */
  out(fill: (out: Pointer) => void): number {
    const slot = pin(new BigUint64Array(1));
    fill(ptr(slot));
    return Number(slot[0]);
  }

  release(
    name:
      | "ReleaseSession"
      | "ReleaseValue"
      | "ReleaseTypeInfo"
      | "ReleaseTensorTypeAndShapeInfo"
      | "ReleaseSessionOptions"
      | "ReleaseRunOptions"
      | "ReleaseMemoryInfo"
      | "ReleasePrepackedWeightsContainer",
    handle: number,
  ): void {
    this.fn(name, [FFIType.ptr], FFIType.void)(handle);
  }
}

/**
 * Memory native code is reading during the current call. A pointer taken with `ptr()` does not
 * keep its array alive: once the array is unreachable from JS (the JIT may consider it dead right
 * after `ptr()`), a garbage collection triggered by the next allocation can free it under
 * onnxruntime. Everything handed over by pointer is pinned here until the operation returns
 * (operations are synchronous on their thread, so one list per thread suffices).
 */
const pinned: unknown[] = [];

function pin<T>(value: T): T {
  pinned.push(value);
  return value;
}

/** Runs one operation, then lets go of what it pinned (and only that: operations may nest). */
function pinning<T>(operation: () => T): T {
  const depth = pinned.length;
  try {
    return operation();
  } finally {
    pinned.length = depth;
  }
}

function cString(text: string): Pointer {
  return ptr(pin(Buffer.from(`${text}\0`, "utf8")));
}

let thisThread: OrtApi | undefined;
const api = (): OrtApi => (thisThread ??= pinning(() => new OrtApi()));

const P = FFIType.ptr;
const U64 = FFIType.u64;

function takeString(ort: OrtApi, pointer: number): string {
  const text = new CString(pointer as Pointer).toString();
  ort.call("AllocatorFree", [P, P], ort.allocator, pointer);
  return text;
}

function readShape(ort: OrtApi, info: number): number[] {
  const count = ort.out((out) => ort.call("GetDimensionsCount", [P, P], info, out));
  const dims = pin(new BigInt64Array(Math.max(1, count)));
  ort.call("GetDimensions", [P, P, U64], info, ptr(dims), count);
  return Array.from(dims.subarray(0, count), Number);
}

function elementOf(ort: OrtApi, info: number): number {
  const code = pin(new Int32Array(1));
  ort.call("GetTensorElementType", [P, P], info, ptr(code));
  return code[0]!;
}

function describeInput(ort: OrtApi, session: number, index: number): InputSpec {
  const name = takeString(
    ort,
    ort.out((out) => ort.call("SessionGetInputName", [P, U64, P, P], session, index, ort.allocator, out)),
  );
  const typeInfo = ort.out((out) => ort.call("SessionGetInputTypeInfo", [P, U64, P], session, index, out));
  try {
    const tensorInfo = ort.out((out) => ort.call("CastTypeInfoToTensorInfo", [P, P], typeInfo, out));
    if (tensorInfo === 0) return { name, type: "unknown", shape: [] };
    const type = ELEMENT_NAMES.get(elementOf(ort, tensorInfo)) ?? "unknown";
    // Symbolic and unknown sizes read as -1: the caller fills those from its own input.
    const shape = readShape(ort, tensorInfo).map((dim) => (dim >= 0 ? dim : undefined));
    return { name, type, shape };
  } finally {
    ort.release("ReleaseTypeInfo", typeInfo);
  }
}

/**
 * Registers the process's shared arena on onnxruntime's environment: from then on every session
 * created with `arena` takes its CPU memory from it instead of from an arena of its own. Call it
 * once per process, before those sessions: a second call registers a second arena, which
 * sessions created later take instead (measured: onnxruntime 1.30 accepts it).
 *
 * Why one arena: an arena keeps the memory of the largest run it has served, so that later runs
 * reuse it instead of mapping and faulting it in afresh. Kept per session, that was the sum of
 * every model's largest run, and the models whose input shape varies run to run (OCR, at each
 * photo's own size) had to go without: the OCR detector's runs then took 1.1-2.0x the plain
 * process's, their spread following how many huge pages the kernel had at hand. Shared, the arena
 * holds what the runs under way at once need, whichever models they are, and `trimSharedArena`
 * hands back what no run holds. Measured in one process, one thread (SCRFD, the face embedder and
 * the OCR detector, ten runs each, then SCRFD again): 275 MB with an arena per session (the OCR
 * detector's too), 170 MB shared (bench/RESULTS.md).
 */
export function registerSharedArena(): void {
  pinning(() => {
    const ort = api();
    const arenaMemory = ort.out((out) => ort.call("CreateCpuMemoryInfo", [FFIType.i32, FFIType.i32, P], ALLOCATOR_ARENA, MEM_TYPE_DEFAULT, out));
    try {
      // No arena configuration: onnxruntime's defaults, as a session's own arena has them.
      ort.call("CreateAndRegisterAllocator", [P, P, P], ort.env, arenaMemory, null);
    } finally {
      ort.release("ReleaseMemoryInfo", arenaMemory);
    }
    runTinyModel(false);
  });
}

/**
 * The session takes its memory from the shared arena (onnxruntime falls back to an arena of the
 * session's own when none is registered). onnxruntime's memory pattern, where `memoryPattern`
 * asks for it: after a run of each new input shape it plans the activations' places in one block,
 * taken from the arena at the start of every later run of that shape and given back at its end.
 * Without, each activation is an allocation of its own from the arena, whose lock the two
 * inference threads share. Measured (bench/RESULTS.md): the OCR recogniser's many small
 * activations gain (saturated OCR 6.18 → 6.60 req/s, inference CPU 283 → 264 ms a request);
 * the models with large ones do not (faces, CLIP image, the group photo within the noise), and
 * their planned blocks, up to ~100 MB for the OCR detector, fit little else in a shared arena:
 * on for every model, a mixed soak held 150-175 MiB more at the same throughput.
 */
function useSharedArena(ort: OrtApi, sessionOptions: number, memoryPattern: boolean): void {
  ort.call("AddSessionConfigEntry", [P, P, P], sessionOptions, cString("session.use_env_allocators"), cString("1"));
  if (!memoryPattern) ort.call("DisableMemPattern", [P], sessionOptions);
}

/** Every other optimisation of the level stays: only the transformer that rewrites convolutions into NCHWc is left out. */
const WITHOUT_NCHWC = { "optimization.disable_specified_optimizers": "NchwcTransformer" };

/** Loads a model (a file, or a graph in memory) for the CPU provider with the given thread counts and arena setting. */
export function createNativeSession(model: string | GraphInMemory, options: NativeSessionOptions): NativeSession {
  return pinning(() => createPinned(model, options));
}

function createPinned(model: string | GraphInMemory, options: NativeSessionOptions): NativeSession {
  const ort = api();
  const sessionOptions = ort.out((out) => ort.call("CreateSessionOptions", [P], out));
  let session: number;
  try {
    ort.call("SetIntraOpNumThreads", [P, FFIType.i32], sessionOptions, options.intraOpThreads);
    ort.call("SetInterOpNumThreads", [P, FFIType.i32], sessionOptions, options.interOpThreads);
    ort.call("SetSessionExecutionMode", [P, FFIType.i32], sessionOptions, options.interOpThreads > 1 ? 1 : 0);
    ort.call("SetSessionGraphOptimizationLevel", [P, FFIType.i32], sessionOptions, GRAPH_OPTIMIZE_ALL);
    if (options.arena) useSharedArena(ort, sessionOptions, options.memoryPattern === true);
    else ort.call("DisableCpuMemArena", [P], sessionOptions);
    const entries = {
      ...intraOpSpinEntries(options.spinMicroseconds ?? 0),
      ...(options.nchwcLayout === false ? WITHOUT_NCHWC : {}),
      ...(typeof model === "string" ? {} : { "session.model_external_initializers_file_folder_path": model.folder }),
    };
    for (const [key, value] of Object.entries(entries)) {
      ort.call("AddSessionConfigEntry", [P, P, P], sessionOptions, cString(key), cString(value));
    }
    for (const { name, value } of options.sharedInitializers ?? []) ort.call("AddInitializer", [P, P, P], sessionOptions, cString(name), value);
    session = ort.out((out) => openSession(ort, model, sessionOptions, options.prepackedWeights, out));
  } finally {
    ort.release("ReleaseSessionOptions", sessionOptions);
  }
  try {
    const inputCount = ort.out((out) => ort.call("SessionGetInputCount", [P, P], session, out));
    const outputCount = ort.out((out) => ort.call("SessionGetOutputCount", [P, P], session, out));
    const inputs = Array.from({ length: inputCount }, (_, index) => describeInput(ort, session, index));
    const outputNames = Array.from({ length: outputCount }, (_, index) =>
      takeString(
        ort,
        ort.out((out) => ort.call("SessionGetOutputName", [P, U64, P, P], session, index, ort.allocator, out)),
      ),
    );
    return { handle: session, inputs, outputNames };
  } catch (error) {
    ort.release("ReleaseSession", session);
    throw error;
  }
}

function openSession(ort: OrtApi, model: string | GraphInMemory, sessionOptions: number, prepacked: number | undefined, out: Pointer): void {
  if (typeof model === "string") {
    if (prepacked === undefined) ort.call("CreateSession", [P, P, P, P], ort.env, cString(model), sessionOptions, out);
    else ort.call("CreateSessionWithPrepackedWeightsContainer", [P, P, P, P, P], ort.env, cString(model), sessionOptions, prepacked, out);
    return;
  }
  const graph = ptr(pin(model.graph));
  if (prepacked === undefined) ort.call("CreateSessionFromArray", [P, P, U64, P, P], ort.env, graph, model.graph.byteLength, sessionOptions, out);
  else
    ort.call(
      "CreateSessionFromArrayWithPrepackedWeightsContainer",
      [P, P, U64, P, P, P],
      ort.env,
      graph,
      model.graph.byteLength,
      sessionOptions,
      prepacked,
      out,
    );
}

/** A container for the weights that sessions of one model share once laid out for their kernels (see `NativeSessionOptions`). */
export function createPrepackedWeights(): number {
  return pinning(() => {
    const ort = api();
    return ort.out((out) => ort.call("CreatePrepackedWeightsContainer", [P], out));
  });
}

/**
 * A tensor of ONNX element type `onnxType` over `bytes` bytes of native memory at `address`, which
 * must outlive it (and every session given it); free with `releaseValue`.
 */
export function createTensorOver(address: number, bytes: number, dims: readonly number[], onnxType: number): number {
  return pinning(() => valueOver(api(), address, bytes, dims, onnxType));
}

/** An OrtValue over `bytes` bytes at `address` (a pointer pinned by the caller, or native memory). */
function valueOver(ort: OrtApi, address: number | Pointer, bytes: number, dims: readonly number[], onnxType: number): number {
  // A scalar's shape is empty: a non-empty array still gives its (unread) pointer.
  const shape = pin(BigInt64Array.from(dims.length > 0 ? dims : [0], BigInt));
  return ort.out((out) =>
    ort.call("CreateTensorWithDataAsOrtValue", [P, P, U64, P, U64, FFIType.i32, P], ort.cpuMemory, address, bytes, ptr(shape), dims.length, onnxType, out),
  );
}

export function releaseValue(handle: number): void {
  pinning(() => api().release("ReleaseValue", handle));
}

/** Frees a container; every session created with it must have been released first. */
export function releasePrepackedWeights(handle: number): void {
  pinning(() => api().release("ReleasePrepackedWeightsContainer", handle));
}

/** Pointers to NUL-terminated copies of `names`, all pinned for the current operation. */
function nameArray(names: readonly string[]): BigUint64Array {
  const strings = names.map((name) => pin(Buffer.from(`${name}\0`, "utf8")));
  return pin(BigUint64Array.from(strings, (buffer) => BigInt(ptr(buffer))));
}

function outputTensor(ort: OrtApi, value: number, reduce: boolean): OutputTensor | BestClasses {
  const info = ort.out((out) => ort.call("GetTensorTypeAndShape", [P, P], value, out));
  let dims: number[];
  let element: TensorElement | undefined;
  try {
    dims = readShape(ort, info);
    element = ELEMENT_NAMES.get(elementOf(ort, info));
  } finally {
    ort.release("ReleaseTensorTypeAndShapeInfo", info);
  }
  if (!element) throw new Error("onnxruntime: output of an unsupported element type");
  const floats = tensorFloats(
    ort,
    value,
    element,
    dims.reduce((a, b) => a * b, 1),
  );
  if (reduce) return bestClasses(floats, dims);
  // A float32 output is still a view of the tensor's memory, which goes with ReleaseValue: copied.
  return { dims, data: element === "float32" ? floats.slice() : floats };
}

/**
 * The tensor's values as floats: for float32 a view of its memory (it belongs to the session's
 * allocator and goes with ReleaseValue, so read it in place or copy it), else a converted copy.
 */
function tensorFloats(ort: OrtApi, value: number, element: TensorElement, count: number): Float32Array {
  if (count === 0) return new Float32Array(0);
  const data = ort.out((out) => ort.call("GetTensorMutableData", [P, P], value, out));
  const view = toArrayBuffer(data as Pointer, 0, count * ELEMENT_TYPES[element].bytes);
  if (element === "float32") return new Float32Array(view);
  const typed = element === "int64" ? new BigInt64Array(view) : element === "int32" ? new Int32Array(view) : new Uint8Array(view);
  return Float32Array.from(typed as ArrayLike<number | bigint>, Number);
}

/**
 * One run on this thread. The feeds' memory is read in place (onnxruntime takes no copy). With
 * `reduce`, each output comes back as its best class per position (best-class.ts).
 */
export function runNativeSession(handle: number, outputNames: readonly string[], feeds: Record<string, Feed>): OutputTensor[];
export function runNativeSession(handle: number, outputNames: readonly string[], feeds: Record<string, Feed>, reduce: true): BestClasses[];
export function runNativeSession(
  handle: number,
  outputNames: readonly string[],
  feeds: Record<string, Feed>,
  reduce: boolean,
): Array<OutputTensor | BestClasses>;
export function runNativeSession(
  handle: number,
  outputNames: readonly string[],
  feeds: Record<string, Feed>,
  reduce = false,
): Array<OutputTensor | BestClasses> {
  return pinning(() => runPinned(handle, outputNames, feeds, reduce));
}

/** An OrtValue over `feed`'s memory: onnxruntime reads (or, for an output, writes) it in place. */
function tensorOver(ort: OrtApi, feed: Feed): bigint {
  const data = pin(feed.data.byteLength > 0 ? feed.data : new Uint8Array(1));
  return BigInt(valueOver(ort, ptr(data), feed.data.byteLength, feed.dims, ELEMENT_TYPES[feed.type].code));
}

/** With `into`, the outputs are written there (one per output name) instead of memory onnxruntime allocates. */
function runPinned(
  handle: number,
  outputNames: readonly string[],
  feeds: Record<string, Feed>,
  reduce: boolean,
  runOptions: number | null = null,
  into: readonly Feed[] = [],
): Array<OutputTensor | BestClasses> {
  const ort = api();
  const inputNames = Object.keys(feeds);
  const values = pin(new BigUint64Array(inputNames.length));
  const outputs = pin(new BigUint64Array(outputNames.length));
  try {
    inputNames.forEach((name, index) => (values[index] = tensorOver(ort, feeds[name]!)));
    into.forEach((feed, index) => (outputs[index] = tensorOver(ort, feed)));
    const inNames = nameArray(inputNames);
    const outNames = nameArray(outputNames);
    ort.call(
      "Run",
      [P, P, P, P, U64, P, U64, P],
      handle,
      runOptions,
      ptr(inNames),
      ptr(values),
      inputNames.length,
      ptr(outNames),
      outputNames.length,
      ptr(outputs),
    );
    return Array.from(outputs, (value) => outputTensor(ort, Number(value), reduce));
  } finally {
    for (const value of values) if (value !== 0n) ort.release("ReleaseValue", Number(value));
    for (const value of outputs) if (value !== 0n) ort.release("ReleaseValue", Number(value));
  }
}

/** Frees a session; no run of it may be in flight on any thread. */
export function releaseNativeSession(handle: number): void {
  pinning(() => api().release("ReleaseSession", handle));
}

/**
 * Hands the shared arena's free memory back to the OS: every region of it that no run under way
 * is using. onnxruntime shrinks an arena only at the end of a run that asks for it (the run option
 * below), so this runs the tiny `a + b` model once, in a session of its own that takes its memory
 * from the shared arena: 0.5-5 ms.
 */
export function trimSharedArena(): void {
  pinning(() => runTinyModel(true));
}

/**
 * One run of the tiny model (tiny-onnx.ts) in a session on the shared arena. With `shrink`, the
 * arena hands its free regions back at the end of it, and the sum goes into memory of ours:
 * allocated from the arena, it would hold the region it landed in through that very shrink.
 * Without, the sum is the arena's first allocation, which makes its first region a small one
 * (onnxruntime's initial chunk, 1 MiB): onnxruntime never shrinks an arena's first region, which
 * would otherwise be sized for the first model's first large tensor and held for good.
 */
function runTinyModel(shrink: boolean): void {
  const ort = api();
  const sessionOptions = ort.out((out) => ort.call("CreateSessionOptions", [P], out));
  let session: number;
  try {
    ort.call("SetIntraOpNumThreads", [P, FFIType.i32], sessionOptions, 1);
    ort.call("SetInterOpNumThreads", [P, FFIType.i32], sessionOptions, 1);
    ort.call("AddSessionConfigEntry", [P, P, P], sessionOptions, cString("session.use_env_allocators"), cString("1"));
    const model = pin(addModel());
    session = ort.out((out) => ort.call("CreateSessionFromArray", [P, P, U64, P, P], ort.env, ptr(model), model.byteLength, sessionOptions, out));
  } finally {
    ort.release("ReleaseSessionOptions", sessionOptions);
  }
  const runOptions = shrink ? ort.out((out) => ort.call("CreateRunOptions", [P], out)) : null;
  try {
    if (runOptions) ort.call("AddRunConfigEntry", [P, P, P], runOptions, cString("memory.enable_memory_arena_shrinkage"), cString("cpu:0"));
    const operand: Feed = { type: "float32", dims: [3], data: new Float32Array(3) };
    const into: Feed[] = shrink ? [{ type: "float32", dims: [3], data: new Float32Array(3) }] : [];
    runPinned(session, ["sum"], { a: operand, b: operand }, false, runOptions, into);
  } finally {
    if (runOptions) ort.release("ReleaseRunOptions", runOptions);
    ort.release("ReleaseSession", session);
  }
}
