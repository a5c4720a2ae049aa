/** libvips' output buffer is freed as soon as its pixels are copied, and only a buffer nothing else shares. */
import { expect, test } from "bun:test";
import { freeNow } from "../../src/pipeline/decode-image.ts";

test("a buffer the view covers alone is detached, its memory released", () => {
  const data = Buffer.from(new ArrayBuffer(1 << 20));
  freeNow(data);
  expect(data.buffer.detached).toBe(true);
  expect(data.byteLength).toBe(0);
});

test("a view into a larger buffer (a pooled slab) leaves the buffer to its other views", () => {
  const slab = new ArrayBuffer(4096);
  const neighbour = new Uint8Array(slab, 0, 64).fill(7);
  const data = Buffer.from(slab, 64, 1024);
  freeNow(data);
  expect(slab.detached).toBe(false);
  expect(neighbour[0]).toBe(7);
  const half = Buffer.from(new ArrayBuffer(100), 0, 50);
  freeNow(half);
  expect(half.buffer.detached).toBe(false);
});
