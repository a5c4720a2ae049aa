/** When the face embedder's batch is read in place (one shared span) and when it must be copied. */
import { describe, expect, test } from "bun:test";
import { sharedSpan } from "../../../src/tasks/facial-recognition/recognition.ts";

const CROP = 3 * 112 * 112;
const crops = (data: Float32Array, indices: number[]) => indices.map((i) => data.subarray(i * CROP, (i + 1) * CROP));
const shared = (faces: number) => new Float32Array(new SharedArrayBuffer(16 + faces * CROP * 4), 16, faces * CROP);

describe("sharedSpan", () => {
  test("crops back to back in shared memory are one view over them, not a copy", () => {
    const data = shared(4);
    data.forEach((_, i) => (data[i] = i));
    const span = sharedSpan(crops(data, [1, 2, 3]))!;
    expect(span.buffer).toBe(data.buffer);
    expect(span.byteOffset).toBe(data.byteOffset + CROP * 4);
    expect(span.length).toBe(3 * CROP);
    expect([span[0], span[3 * CROP - 1]]).toEqual([CROP, 4 * CROP - 1]);
  });

  test("out of order, with a gap, from two buffers or in unshared memory: copied instead", () => {
    const data = shared(4);
    expect(sharedSpan(crops(data, [1, 0]))).toBeUndefined();
    expect(sharedSpan(crops(data, [0, 2]))).toBeUndefined();
    expect(sharedSpan([...crops(data, [0]), ...crops(shared(1), [0])])).toBeUndefined();
    expect(sharedSpan(crops(new Float32Array(2 * CROP), [0, 1]))).toBeUndefined();
  });

  test("a crop of the wrong length is never part of a span", () => {
    const data = shared(2);
    expect(sharedSpan([data.subarray(0, CROP), data.subarray(CROP, 2 * CROP - 1)])).toBeUndefined();
  });
});
