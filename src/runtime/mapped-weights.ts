/**
 * Moves a model's large weights out of `model.onnx` into `model.onnx.data` beside it: ONNX's own
 * external-data layout, which onnxruntime memory-maps instead of copying into its heap. A weight
 * then costs resident memory only for the pages a run reads. What that saves is a CLIP text
 * tower's token embedding: ViT-B/32's 49,408 × 512 floats (101 MB) of which a query reads a few
 * rows; SigLIP2's and the multilingual towers' tables of about 250,000 tokens (0.8–1 GB).
 * Weights that are read whole (repacked for the matrix kernels, or every run) cost what they did.
 *
 * The file is rewritten in place, as upstream rewrites its face embedders' files to add a batch
 * axis: the result is a standard ONNX model that any onnxruntime (upstream's included) loads, and
 * the cache takes no more disk. It is written beside the original first (`commit` renames it over
 * `model.onnx` once a session has loaded it), so a failed load keeps the original, and whatever
 * moment a crash or a concurrent instance picks, `model.onnx` is whole: either the original or a
 * graph whose weights file was complete before it.
 *
 * Written by hand rather than with a protobuf library: only four fields are read (the model's
 * graph, the graph's initializers, a tensor's raw bytes and its data location), every other byte
 * is copied as it is, so fields newer than any schema a library ships survive; and the weights
 * are streamed file to file, never held in memory, which a decoded 1 GB model would be.
 */
import { closeSync, fstatSync, fsyncSync, openSync, readSync, renameSync, rmSync, statSync, writeSync } from "node:fs";
import { randomUUID } from "node:crypto";
import { basename } from "node:path";
import {
  DATA_LOCATION_EXTERNAL,
  ENTRY_KEY,
  ENTRY_VALUE,
  GRAPH_INITIALIZER,
  isMessage,
  MODEL_GRAPH,
  TENSOR_DATA_LOCATION,
  TENSOR_EXTERNAL_DATA,
  TENSOR_RAW_DATA,
} from "./onnx-proto.ts";
import { fieldAt, fieldKey, lengthDelimited, readVarint, WIRE_VARINT, type WireField } from "./protobuf-wire.ts";

/** A tensor's bytes are moved out from this size: smaller ones (biases, norms) stay in the graph. */
const MIN_TENSOR_BYTES = 1 << 20;
/** A model is rewritten only when this much would move: below it the copy would save little. */
const MIN_MODEL_BYTES = 16 << 20;
/** Each tensor starts on a page boundary of the weights file (16 KiB: Apple silicon's pages). */
const ALIGNMENT = 16 << 10;
/** Bytes copied per read when streaming a tensor into the weights file. */
const COPY_CHUNK = 8 << 20;

export interface WeightLimits {
  minTensorBytes: number;
  minModelBytes: number;
}

const DEFAULT_LIMITS: WeightLimits = { minTensorBytes: MIN_TENSOR_BYTES, minModelBytes: MIN_MODEL_BYTES };

/** A rewritten model waiting to replace the original: load `graphPath`, then `commit` (or `abandon`). */
export interface MappedWeights {
  /** The rewritten graph, beside the original (its weights file is already in place). */
  readonly graphPath: string;
  readonly tensors: number;
  readonly bytes: number;
  /** Renames the rewritten graph over the original. */
  commit(): void;
  /** Removes the rewritten graph, and its weights file unless the original changed meanwhile. */
  abandon(): void;
}

/** Positional reads of the model file. */
class ModelFile {
  constructor(
    private readonly fd: number,
    readonly size: number,
  ) {}

  read(offset: number, length: number): Uint8Array {
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const n = readSync(this.fd, out, done, length - done, offset + done);
      if (n === 0) throw new Error(`unexpected end of file at byte ${offset + done}`);
      done += n;
    }
    return out;
  }

  /** The fields of the message in [start, end), in file order. */
  fields(start: number, end: number): WireField[] {
    const fields: WireField[] = [];
    for (let at = start; at < end; ) {
      // A tag and a length are at most 10 bytes each.
      const field = fieldAt(this.read(at, Math.min(20, end - at)), at, end);
      fields.push(field);
      at = field.end;
    }
    return fields;
  }
}

function stringField(number: number, value: string): Uint8Array[] {
  return lengthDelimited(number, [new TextEncoder().encode(value)]);
}

/** TensorProto.external_data's entries and data_location, as onnx.proto defines them. */
function externalDataFields(location: string, offset: number, length: number): Uint8Array[] {
  const entry = (key: string, value: string) => lengthDelimited(TENSOR_EXTERNAL_DATA, [...stringField(ENTRY_KEY, key), ...stringField(ENTRY_VALUE, value)]);
  return [
    ...entry("location", location),
    ...entry("offset", String(offset)),
    ...entry("length", String(length)),
    Uint8Array.from([...fieldKey(TENSOR_DATA_LOCATION, WIRE_VARINT), DATA_LOCATION_EXTERNAL]),
  ];
}

/** A tensor whose raw bytes move: where they are in the model and where they go in the weights file. */
interface Move {
  readonly from: number;
  readonly length: number;
  readonly to: number;
}

/**
 * Writes `model.onnx`'s rewritten graph and its weights file beside it, or returns null when there
 * is nothing worth moving (no tensor that large, or the model already keeps its weights outside).
 * Throws when the file cannot be read as a model or the folder cannot be written, leaving nothing.
 */
export function prepareMappedWeights(modelPath: string, limits: WeightLimits = DEFAULT_LIMITS): MappedWeights | null {
  const fd = openSync(modelPath, "r");
  try {
    const original = fstatSync(fd);
    const plan = planRewrite(new ModelFile(fd, original.size), `${basename(modelPath)}.data`, limits);
    if (!plan) return null;
    const dataPath = `${modelPath}.data`;
    // Its own name per call: two instances sharing a cache may rewrite the same model at once
    // (into the same bytes), each committing its own copy.
    const graphPath = `${modelPath}.mapped-${uniqueSuffix()}`;
    const removeData = () => {
      // Unless another instance committed its rewrite meanwhile: its graph names this same file.
      const now = statSync(modelPath, { throwIfNoEntry: false });
      if (now && now.size === original.size && now.mtimeMs === original.mtimeMs) rmSync(dataPath, { force: true });
    };
    writeAtomically(dataPath, (out) => copyRanges(fd, out, plan.moves));
    try {
      writeAtomically(graphPath, (out) => writeSync(out, Buffer.concat(plan.graph)));
    } catch (error) {
      removeData();
      throw error;
    }
    return {
      graphPath,
      tensors: plan.moves.length,
      bytes: plan.moved,
      commit: () => renameSync(graphPath, modelPath),
      abandon: () => {
        rmSync(graphPath, { force: true });
        removeData();
      },
    };
  } finally {
    closeSync(fd);
  }
}

/** A span of the model file copied as it is, or bytes written anew. */
type Part = { readonly start: number; readonly end: number } | Uint8Array;

/**
 * The rewritten model's bytes (as parts) and the tensor moves, or null when nothing should move.
 * The weights file's tensors are laid out in the model's order, each on an ALIGNMENT boundary.
 * Nothing but field headers is read until it is known that the model will be rewritten.
 */
function planRewrite(file: ModelFile, location: string, limits: WeightLimits): { graph: Uint8Array[]; moves: Move[]; moved: number } | null {
  const modelFields = file.fields(0, file.size);
  const graphs = modelFields.filter((f) => isMessage(f, MODEL_GRAPH));
  if (graphs.length !== 1) throw new Error(`expected one graph in the model, found ${graphs.length}`);
  const graph = graphs[0]!;
  const moves: Move[] = [];
  let dataSize = 0;
  const graphParts: Part[] = [];
  for (const field of file.fields(graph.payload, graph.end)) {
    if (!isMessage(field, GRAPH_INITIALIZER)) {
      graphParts.push(field);
      continue;
    }
    const tensorFields = file.fields(field.payload, field.end);
    if (tensorFields.some((f) => isExternal(file, f))) return null;
    const raw = tensorFields.find((f) => isMessage(f, TENSOR_RAW_DATA));
    const length = raw ? raw.end - raw.payload : 0;
    if (!raw || length < limits.minTensorBytes) {
      graphParts.push(field);
      continue;
    }
    const to = Math.ceil(dataSize / ALIGNMENT) * ALIGNMENT;
    moves.push({ from: raw.payload, length, to });
    dataSize = to + length;
    // An explicit data_location (DEFAULT, as onnx writes it when it inlines external data) gives way to EXTERNAL.
    const kept = tensorFields.filter((f) => f !== raw && f.number !== TENSOR_DATA_LOCATION).map((f) => bytesOf(file, f));
    graphParts.push(...lengthDelimited(GRAPH_INITIALIZER, [...kept, ...externalDataFields(location, to, length)]));
  }
  const moved = moves.reduce((sum, move) => sum + move.length, 0);
  if (moves.length === 0 || moved < limits.minModelBytes) return null;
  const parts: Uint8Array[] = [];
  for (const field of modelFields) {
    if (field === graph)
      parts.push(
        ...lengthDelimited(
          MODEL_GRAPH,
          graphParts.map((part) => bytesOf(file, part)),
        ),
      );
    else parts.push(bytesOf(file, field));
  }
  return { graph: parts, moves, moved };
}

function bytesOf(file: ModelFile, part: Part): Uint8Array {
  return part instanceof Uint8Array ? part : file.read(part.start, part.end - part.start);
}

/** Whether a tensor field says its data lies outside the model: external_data, or data_location EXTERNAL. */
function isExternal(file: ModelFile, field: WireField): boolean {
  if (field.number === TENSOR_EXTERNAL_DATA) return true;
  if (field.number !== TENSOR_DATA_LOCATION || field.wire !== WIRE_VARINT) return false;
  const value = file.read(field.start, field.end - field.start);
  return readVarint(value, readVarint(value, 0)[1])[0] === DATA_LOCATION_EXTERNAL;
}

/** Streams each move's bytes from the model into the weights file (zeros between tensors). */
function copyRanges(from: number, to: number, moves: readonly Move[]): void {
  const buffer = new Uint8Array(COPY_CHUNK);
  let written = 0;
  for (const move of moves) {
    if (move.to > written) writeSync(to, new Uint8Array(move.to - written));
    for (let done = 0; done < move.length; ) {
      const n = readSync(from, buffer, 0, Math.min(COPY_CHUNK, move.length - done), move.from + done);
      if (n === 0) throw new Error("the model file ended inside a tensor");
      writeSync(to, buffer, 0, n);
      done += n;
    }
    written = move.to + move.length;
  }
}

/** Writes `path` through a temporary file renamed over it once complete and synced. */
function writeAtomically(path: string, write: (fd: number) => void): void {
  const temporary = `${path}.partial-${uniqueSuffix()}`;
  const fd = openSync(temporary, "w");
  try {
    write(fd);
    fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    rmSync(temporary, { force: true });
    throw error;
  }
  closeSync(fd);
  try {
    renameSync(temporary, path);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw error;
  }
}

function uniqueSuffix(): string {
  return randomUUID().slice(0, 8);
}
