/**
 * A model's external weights (mapped-weights.ts's `model.onnx.data`) mapped once by us and handed
 * to every session of the model as shared initializers, so that several sessions of one model
 * (sequence-variants.ts: the text tower at a few sequence lengths) hold one copy of everything.
 *
 * onnxruntime maps an external weights file itself, but per session; and the weights its kernels
 * re-lay out (a MatMul's packed B, the bulk of a transformer) are shared between sessions through a
 * prepacked-weights container only for initializers the caller supplies (`AddInitializer`): a
 * second session of the CLIP text tower cost 158 MB without, next to nothing with. The mapping is
 * read-only and private: pages a run reads come from the page cache, and `dropResidentPages` lets
 * go of those that creating the sessions read (the packed copies hold the values from then on).
 */
import { closeSync, openSync } from "node:fs";
import { dirname, join } from "node:path";
import { createTensorOver, releaseValue, type SharedInitializer } from "./ort-capi.ts";
import {
  ELEMENT_BYTES,
  ENTRY_KEY,
  ENTRY_VALUE,
  GRAPH_INITIALIZER,
  isMessage,
  MODEL_GRAPH,
  repeatedVarints,
  TENSOR_DATA_TYPE,
  TENSOR_DIMS,
  TENSOR_EXTERNAL_DATA,
  TENSOR_NAME,
  varintValue,
} from "./onnx-proto.ts";
import { messageFields, WIRE_VARINT, type WireField } from "./protobuf-wire.ts";

const PROT_READ = 1;
const MAP_PRIVATE = 2;
const MADV_DONTNEED = 4;
const LIBC = process.platform === "darwin" ? "/usr/lib/libSystem.B.dylib" : "libc.so.6";

/** The numbers that name a mapping and its initializers in any thread (all native). */
export interface SharedWeights {
  readonly address: number;
  readonly bytes: number;
  readonly initializers: readonly SharedInitializer[];
}

/** One initializer stored in the weights file, as the graph describes it. */
interface ExternalTensor {
  readonly name: string;
  readonly dims: number[];
  readonly dataType: number;
  readonly location: string;
  readonly offset: number;
  readonly length: number;
}

interface Libc {
  mmap(address: null, length: number, prot: number, flags: number, fd: number, offset: number): number | null;
  munmap(address: number, length: number): number;
  madvise(address: number, length: number, advice: number): number;
}

let libc: Libc | undefined;

function loadLibc(): Libc {
  if (libc) return libc;
  const { dlopen, FFIType } = require("bun:ffi") as typeof import("bun:ffi");
  const lib = dlopen(LIBC, {
    mmap: { args: [FFIType.ptr, FFIType.u64, FFIType.i32, FFIType.i32, FFIType.i32, FFIType.i64], returns: FFIType.ptr },
    munmap: { args: [FFIType.ptr, FFIType.u64], returns: FFIType.i32 },
    madvise: { args: [FFIType.ptr, FFIType.u64, FFIType.i32], returns: FFIType.i32 },
  });
  libc = lib.symbols as unknown as Libc;
  return libc;
}

/**
 * Maps the weights file that every external initializer of `graph` (the bytes of `graphPath`)
 * lives in and wraps each initializer's bytes as a tensor; null when the graph keeps its weights
 * inside (nothing to share) or spreads them over several files.
 */
export function mapSharedWeights(graphPath: string, graph: Uint8Array): SharedWeights | null {
  const tensors = externalTensors(graph);
  const locations = new Set(tensors.map((tensor) => tensor.location));
  if (tensors.length === 0 || locations.size !== 1) return null;
  const dataPath = join(dirname(graphPath), [...locations][0]!);
  const bytes = Math.max(...tensors.map((tensor) => tensor.offset + tensor.length));
  const fd = openSync(dataPath, "r");
  let address: number | null;
  try {
    address = loadLibc().mmap(null, bytes, PROT_READ, MAP_PRIVATE, fd, 0);
  } finally {
    closeSync(fd);
  }
  // MAP_FAILED is (void *) -1, far above any user-space address (below 2^48 on x86-64 and arm64).
  if (!address || address < 0 || address >= 2 ** 48) throw new Error(`could not map ${dataPath}`);
  const initializers: SharedInitializer[] = [];
  try {
    for (const tensor of tensors) {
      const elementBytes = ELEMENT_BYTES.get(tensor.dataType);
      if (elementBytes === undefined) throw new Error(`${tensor.name}: tensor type ${tensor.dataType} cannot be shared`);
      if (tensor.dims.reduce((a, b) => a * b, elementBytes) !== tensor.length) throw new Error(`${tensor.name}: ${tensor.length} bytes for its shape`);
      initializers.push({ name: tensor.name, value: createTensorOver(address + tensor.offset, tensor.length, tensor.dims, tensor.dataType) });
    }
  } catch (error) {
    releaseSharedWeights({ address, bytes, initializers });
    throw error;
  }
  return { address, bytes, initializers };
}

/** Lets go of the pages of the mapping read so far; later reads fault them in again from the file. */
export function dropResidentPages(weights: SharedWeights): void {
  loadLibc().madvise(weights.address, weights.bytes, MADV_DONTNEED);
}

/** Frees the tensors and the mapping; every session using them must have been released first. */
export function releaseSharedWeights(weights: SharedWeights): void {
  for (const initializer of weights.initializers) releaseValue(initializer.value);
  loadLibc().munmap(weights.address, weights.bytes);
}

function externalTensors(graph: Uint8Array): ExternalTensor[] {
  const view = new Uint8Array(graph.buffer, graph.byteOffset, graph.byteLength);
  const tensors: ExternalTensor[] = [];
  for (const model of messageFields(view)) {
    if (!isMessage(model, MODEL_GRAPH)) continue;
    for (const field of messageFields(view, model.payload, model.end)) {
      if (!isMessage(field, GRAPH_INITIALIZER)) continue;
      const tensor = externalTensor(view, field);
      if (tensor) tensors.push(tensor);
    }
  }
  return tensors;
}

function externalTensor(bytes: Uint8Array, tensor: WireField): ExternalTensor | null {
  const fields = messageFields(bytes, tensor.payload, tensor.end);
  const text = (field: WireField) => new TextDecoder().decode(bytes.subarray(field.payload, field.end));
  const name = fields.find((field) => isMessage(field, TENSOR_NAME));
  const dataType = fields.find((field) => field.number === TENSOR_DATA_TYPE && field.wire === WIRE_VARINT);
  const entries = new Map<string, string>();
  for (const field of fields) {
    if (!isMessage(field, TENSOR_EXTERNAL_DATA)) continue;
    const entry = messageFields(bytes, field.payload, field.end);
    const key = entry.find((f) => isMessage(f, ENTRY_KEY));
    const value = entry.find((f) => isMessage(f, ENTRY_VALUE));
    if (key && value) entries.set(text(key), text(value));
  }
  const location = entries.get("location");
  if (location === undefined) return null;
  return {
    name: name ? text(name) : "",
    dims: repeatedVarints(bytes, fields, TENSOR_DIMS),
    dataType: dataType ? varintValue(bytes, dataType) : 0,
    location,
    offset: Number(entries.get("offset") ?? 0),
    length: Number(entries.get("length") ?? 0),
  };
}
