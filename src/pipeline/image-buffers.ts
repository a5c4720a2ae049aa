/**
 * Shared memory for decoded images, reused from one request to the next. Photos of a library come
 * in a few sizes (Immich sends 1440 px previews), and a fresh 4.5 MB SharedArrayBuffer per request
 * is mapped and faulted in page by page on the HTTP thread: 3–4 ms of its CPU per image request at
 * saturation (`bench/thread-cpu.ts`: 7.8–8.9 ms → 5.0–5.4 ms per CLIP image request with reuse).
 *
 * A buffer comes back only from a request that completed: an abandoned one (timed out, client
 * gone) may still have kernels reading its pixels, so its buffer is left to the collector.
 * Bounded in count per size and in bytes overall; emptied when the service goes idle, so an idle
 * process keeps none of it.
 */

/** Buffers kept per size: one per request decoding or running at once on a small machine. */
const PER_SIZE = 4;
/** Bytes kept overall (about seven 1440x1080 previews). */
const MAX_BYTES = 32 * 1024 * 1024;

export class ImageBuffers {
  readonly #free = new Map<number, SharedArrayBuffer[]>();
  #bytes = 0;

  /** A buffer of exactly `byteLength` bytes: a kept one (its old pixels still in it) or a new one. */
  take(byteLength: number): SharedArrayBuffer {
    const kept = this.#free.get(byteLength)?.pop();
    if (!kept) return new SharedArrayBuffer(byteLength);
    this.#bytes -= byteLength;
    return kept;
  }

  /** Hands back the buffer of a request that has completed; kept if there is room. */
  give(buffer: SharedArrayBuffer): void {
    const list = this.#free.get(buffer.byteLength) ?? [];
    if (list.length >= PER_SIZE || this.#bytes + buffer.byteLength > MAX_BYTES) return;
    list.push(buffer);
    this.#free.set(buffer.byteLength, list);
    this.#bytes += buffer.byteLength;
  }

  /** Bytes kept now. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Lets every kept buffer go (the service is idle). */
  clear(): void {
    this.#free.clear();
    this.#bytes = 0;
  }
}
