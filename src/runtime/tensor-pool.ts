/**
 * Reusable shared memory for the large input tensors the kernels make (the face detector's 4.9 MB
 * letterbox, the OCR detector's ~9 MB input, a photo's aligned face crops: 2.4 MB for 16 faces,
 * CLIP's 602 KB image input).
 * A fresh Float32Array of that size is mapped and faulted in page by page on every request:
 * measured in the service, the OCR detector's input kernel took 14.1–14.4 ms with a fresh tensor
 * and 10.7–10.9 ms writing into a reused one (`bench/sequential-stages.ts --scenario ocr`), and
 * the run reading it was no slower.
 *
 * A pooled tensor lives in a SharedArrayBuffer, so it travels to the main thread and on to an
 * inference thread uncopied (shared buffers are shared by reference, not transferred). Its first
 * bytes are a header whose state word says whether the tensor is in use; whoever is done with it
 * (the task, once the run that read it has returned) marks it free with `recycleTensor`, from any
 * thread, and the pool of the thread that made it hands it out again. A tensor nobody recycles
 * (its request failed or was abandoned, with a run perhaps still reading it) simply stays in use:
 * the pool is bounded, falls back to ordinary arrays when full, and is dropped when the service
 * goes idle (`clearTensorPool`), after which such a buffer lives only as long as its last holder.
 *
 * A reused tensor still holds its previous values: callers must write every element, except
 * where it holds a canvas they asked for (`pooledCanvasTensor`).
 */

/**
 * Header: the state word, a marker telling pooled buffers from other shared memory, the canvas
 * the tensor holds (see `pooledCanvasTensor`; 0: none known), padding.
 */
const HEADER_BYTES = 16;
const STATE = 0;
const MARKER = 1;
const CANVAS = 2;
const NO_CANVAS = 0;
const MARKER_VALUE = 0x7e45_0001;
const FREE = 0;
const IN_USE = 1;

/** Bytes pooled per thread: a few detector inputs of each kind in flight at once. */
export const TENSOR_POOL_BYTES = 48 * 1024 * 1024;

/** This thread's pooled buffers by tensor byte length (in use or free). */
let buffers = new Map<number, SharedArrayBuffer[]>();
let pooledBytes = 0;

/**
 * A Float32Array of `length` values for a tensor: a free pooled one (old values in it), a new
 * pooled one while the pool has room (made by forgetting free ones of other sizes if need be),
 * otherwise an ordinary zeroed array.
 */
export function pooledFloat32(length: number): Float32Array {
  const tensor = pooled(length, NO_CANVAS);
  // Whatever its last user left, this one overwrites it.
  markCanvas(tensor, NO_CANVAS);
  return tensor;
}

/**
 * `pooledFloat32` for a kernel that places an image on a canvas of constant values (the face
 * detector's letterbox: black right of and below the photo): `canvas` names the canvas, its
 * values and where they lie (a non-zero number no other canvas of that length uses). A free
 * tensor that holds this canvas already is preferred, and `hasCanvas` says whether it does; if
 * not, the caller writes the canvas and then calls `markCanvas`. Photos of one library mostly
 * share a few shapes, so the canvas, 1.9 MB of the letterbox's 4.9, is mostly written already.
 */
export function pooledCanvasTensor(length: number, canvas: number): { tensor: Float32Array; hasCanvas: boolean } {
  const tensor = pooled(length, canvas);
  const hasCanvas = headerOf(tensor)?.[CANVAS] === canvas;
  // Until the caller has written it, the canvas is not known to be there (it may fail first).
  if (!hasCanvas) markCanvas(tensor, NO_CANVAS);
  return { tensor, hasCanvas };
}

/** Records that `tensor` (from `pooledCanvasTensor`) now holds `canvas`. */
export function markCanvas(tensor: Float32Array, canvas: number): void {
  const header = headerOf(tensor);
  if (header) Atomics.store(header, CANVAS, canvas);
}

/** `pooledFloat32`'s choice, preferring free tensors that hold `canvas`. */
function pooled(length: number, canvas: number): Float32Array {
  const bytes = length * Float32Array.BYTES_PER_ELEMENT;
  const list = buffers.get(bytes) ?? [];
  // In use or free: the compare-and-swap below tells, and takes a free one.
  const candidates = canvas === NO_CANVAS ? list : [...list.filter((b) => holds(b, canvas)), ...list.filter((b) => !holds(b, canvas))];
  for (const buffer of candidates) {
    if (Atomics.compareExchange(headerWords(buffer), STATE, FREE, IN_USE) === FREE) return new Float32Array(buffer, HEADER_BYTES, length);
  }
  if (pooledBytes + bytes + HEADER_BYTES > TENSOR_POOL_BYTES) dropFree();
  if (pooledBytes + bytes + HEADER_BYTES > TENSOR_POOL_BYTES) return new Float32Array(length);
  const buffer = new SharedArrayBuffer(HEADER_BYTES + bytes);
  const header = headerWords(buffer);
  header[MARKER] = MARKER_VALUE;
  header[STATE] = IN_USE;
  list.push(buffer);
  buffers.set(bytes, list);
  pooledBytes += HEADER_BYTES + bytes;
  return new Float32Array(buffer, HEADER_BYTES, length);
}

function holds(buffer: SharedArrayBuffer, canvas: number): boolean {
  return Atomics.load(headerWords(buffer), CANVAS) === canvas;
}

/** The header's words of a pooled buffer (STATE, MARKER, CANVAS). */
function headerWords(buffer: SharedArrayBuffer): Int32Array {
  return new Int32Array(buffer, 0, 3);
}

/** The header of a tensor from this pool, else null. */
function headerOf(tensor: Float32Array): Int32Array | null {
  const buffer = tensor.buffer;
  if (!(buffer instanceof SharedArrayBuffer) || tensor.byteOffset !== HEADER_BYTES || buffer.byteLength !== HEADER_BYTES + tensor.byteLength) return null;
  const header = headerWords(buffer);
  return header[MARKER] === MARKER_VALUE ? header : null;
}

/** Forgets the free buffers (of sizes no longer asked for, as photos change shape under load). */
function dropFree(): void {
  for (const [bytes, list] of buffers) {
    const inUse = list.filter((buffer) => Atomics.load(headerWords(buffer), STATE) === IN_USE);
    pooledBytes -= (list.length - inUse.length) * (HEADER_BYTES + bytes);
    if (inUse.length > 0) buffers.set(bytes, inUse);
    else buffers.delete(bytes);
  }
}

/**
 * Hands a tensor from `pooledFloat32` back to its pool (a no-op for any other array). Call it only
 * once nothing reads the tensor any more.
 */
export function recycleTensor(tensor: Float32Array): void {
  const header = headerOf(tensor);
  if (header) Atomics.store(header, STATE, FREE);
}

/** Forgets this thread's pool (the service is idle): buffers still in use go with their holders. */
export function clearTensorPool(): void {
  buffers = new Map();
  pooledBytes = 0;
}
