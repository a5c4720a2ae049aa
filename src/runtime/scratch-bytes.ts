/**
 * A reusable scratch buffer for a kernel that needs a large zeroed work area on every call (the
 * OCR post-processing's label map and box masks, each as large as the detector's map: 735 KB for
 * a 1440 px preview). A fresh zeroed allocation of that size is mapped and faulted in page by
 * page on each call once the collector has handed the last one back: measured in `bench/kernels.ts`,
 * the DB post-processing took 1.20 ms with fresh label maps and 0.90 ms reusing one.
 *
 * One per module and thread: a kernel runs synchronously, so no two calls share it. Areas up to
 * RETAINED_LIMIT are kept for the next call; a larger one (a panorama's map) is allocated for its
 * call only, so that one large image does not pin it for the thread's lifetime.
 */
/** A 2560x1600 map's worth; a 1440 px preview's OCR map is 735 KB. */
const RETAINED_LIMIT = 4 << 20;

export class ScratchBytes {
  #buffer = new ArrayBuffer(0);

  /**
   * `length` zero bytes at the start of a buffer whose length is a whole number of 4-byte words
   * (so that callers may also read it as Int32 words). Valid until the next call.
   */
  zeroed(length: number): Uint8Array {
    const bytes = wordBytes(length);
    if (bytes > RETAINED_LIMIT) return zeroedWords(length);
    if (this.#buffer.byteLength < bytes) this.#buffer = new ArrayBuffer(bytes);
    const area = new Uint8Array(this.#buffer, 0, length);
    area.fill(0);
    return area;
  }
}

/** `length` fresh zero bytes at the start of a buffer that is a whole number of 4-byte words. */
export function zeroedWords(length: number): Uint8Array {
  return new Uint8Array(new ArrayBuffer(wordBytes(length)), 0, length);
}

function wordBytes(length: number): number {
  return (length + 3) & ~3;
}
