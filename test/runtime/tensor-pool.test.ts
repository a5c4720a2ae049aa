/** The pool of shared input tensors: reuse only after recycling, bounded, cleared when idle. */
import { beforeEach, describe, expect, test } from "bun:test";
import { clearTensorPool, markCanvas, pooledCanvasTensor, pooledFloat32, recycleTensor, TENSOR_POOL_BYTES } from "../../src/runtime/tensor-pool.ts";

beforeEach(() => clearTensorPool());

describe("pooledFloat32", () => {
  test("a tensor lives in shared memory, so it travels between threads uncopied", () => {
    const tensor = pooledFloat32(1000);
    expect(tensor.length).toBe(1000);
    expect(tensor.buffer).toBeInstanceOf(SharedArrayBuffer);
  });

  test("a tensor in use is never handed out again", () => {
    const first = pooledFloat32(1000);
    const second = pooledFloat32(1000);
    expect(second.buffer).not.toBe(first.buffer);
  });

  test("a recycled tensor is handed out again, its old values still in it", () => {
    const first = pooledFloat32(1000);
    first[999] = 42;
    recycleTensor(first);
    const again = pooledFloat32(1000);
    expect(again.buffer).toBe(first.buffer);
    expect(again[999]).toBe(42);
    // …and only once.
    expect(pooledFloat32(1000).buffer).not.toBe(first.buffer);
  });

  test("recycling works through another view of the same memory (as another thread holds it)", () => {
    const first = pooledFloat32(64);
    recycleTensor(new Float32Array(first.buffer, first.byteOffset, first.length));
    expect(pooledFloat32(64).buffer).toBe(first.buffer);
  });

  test("tensors of another length are not confused", () => {
    const small = pooledFloat32(10);
    recycleTensor(small);
    expect(pooledFloat32(20).buffer).not.toBe(small.buffer);
    expect(pooledFloat32(10).buffer).toBe(small.buffer);
  });

  test("past the pool's bytes, ordinary zeroed arrays", () => {
    const length = TENSOR_POOL_BYTES / 4 / 3;
    const pooled = [pooledFloat32(length), pooledFloat32(length)];
    expect(pooled.every((t) => t.buffer instanceof SharedArrayBuffer)).toBe(true);
    const overflow = pooledFloat32(length);
    expect(overflow.buffer).toBeInstanceOf(ArrayBuffer);
    expect(overflow.buffer).not.toBeInstanceOf(SharedArrayBuffer);
    expect(overflow[length - 1]).toBe(0);
  });

  test("when full, free tensors of other sizes make room", () => {
    const length = TENSOR_POOL_BYTES / 4 / 3;
    const [a, b] = [pooledFloat32(length), pooledFloat32(length)];
    recycleTensor(a);
    const other = pooledFloat32(length - 1);
    expect(other.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(other.buffer).not.toBe(a.buffer);
    // The dropped one is never handed out again, the one in use not before it is recycled.
    const next = pooledFloat32(length);
    expect(next.buffer).not.toBe(a.buffer);
    expect(next.buffer).not.toBe(b.buffer);
  });

  test("after clearTensorPool, nothing recycled earlier is handed out", () => {
    const first = pooledFloat32(100);
    recycleTensor(first);
    clearTensorPool();
    expect(pooledFloat32(100).buffer).not.toBe(first.buffer);
  });
});

describe("pooledCanvasTensor", () => {
  test("a tensor holds a canvas once its caller marks it, until someone else is handed it", () => {
    const first = pooledCanvasTensor(100, 7);
    expect(first.hasCanvas).toBe(false);
    markCanvas(first.tensor, 7);
    recycleTensor(first.tensor);
    const again = pooledCanvasTensor(100, 7);
    expect(again.tensor.buffer).toBe(first.tensor.buffer);
    expect(again.hasCanvas).toBe(true);
    recycleTensor(again.tensor);
    // Another canvas gets the same buffer, without it.
    const other = pooledCanvasTensor(100, 8);
    expect(other.tensor.buffer).toBe(first.tensor.buffer);
    expect(other.hasCanvas).toBe(false);
    recycleTensor(other.tensor);
    // The first canvas is no longer there: the other caller may have written over it.
    expect(pooledCanvasTensor(100, 7).hasCanvas).toBe(false);
  });

  test("a caller that fails before marking leaves no canvas; one handed out by pooledFloat32 loses it", () => {
    const { tensor } = pooledCanvasTensor(100, 7);
    markCanvas(tensor, 7);
    recycleTensor(tensor);
    const plain = pooledFloat32(100);
    expect(plain.buffer).toBe(tensor.buffer);
    recycleTensor(plain);
    const unmarked = pooledCanvasTensor(100, 7);
    expect(unmarked.hasCanvas).toBe(false);
    recycleTensor(unmarked.tensor);
    expect(pooledCanvasTensor(100, 7).hasCanvas).toBe(false);
  });

  test("of the free tensors, one holding the canvas is preferred", () => {
    const [a, b] = [pooledCanvasTensor(100, 1).tensor, pooledCanvasTensor(100, 2).tensor];
    markCanvas(a, 1);
    markCanvas(b, 2);
    recycleTensor(a);
    recycleTensor(b);
    const second = pooledCanvasTensor(100, 2);
    expect(second.tensor.buffer).toBe(b.buffer);
    expect(second.hasCanvas).toBe(true);
  });

  test("past the pool's bytes, an ordinary array, without the canvas", () => {
    const length = TENSOR_POOL_BYTES / 4 / 2;
    pooledFloat32(length);
    const overflow = pooledCanvasTensor(length, 3);
    expect(overflow.tensor.buffer).not.toBeInstanceOf(SharedArrayBuffer);
    expect(overflow.hasCanvas).toBe(false);
    markCanvas(overflow.tensor, 3);
    expect(overflow.tensor[0]).toBe(0);
  });
});

describe("recycleTensor", () => {
  test("leaves arrays the pool did not make alone", () => {
    const shared = new SharedArrayBuffer(16 + 400);
    const header = new Int32Array(shared, 0, 2);
    header[0] = 1;
    recycleTensor(new Float32Array(shared, 16, 100));
    expect(header[0]).toBe(1); // no marker: not the pool's
    expect(() => recycleTensor(new Float32Array(100))).not.toThrow();
  });

  test("a view of part of a pooled tensor frees nothing", () => {
    const tensor = pooledFloat32(100);
    recycleTensor(tensor.subarray(0, 50));
    expect(pooledFloat32(100).buffer).not.toBe(tensor.buffer);
  });
});
