/**
 * A decoded image as every task receives it: 8-bit RGB, interleaved (R,G,B per pixel),
 * row-major, no padding. This is what upstream's `PIL.Image.convert("RGB")` yields.
 *
 * `data` may be backed by a SharedArrayBuffer so that the same decoded pixels can be read
 * by several worker threads without copying; code must never write into it.
 */
export interface RgbImage {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
}
