/** The kernels' reusable scratch area: zeroed on every call, kept only while small. */
import { describe, expect, test } from "bun:test";
import { ScratchBytes } from "../../src/runtime/scratch-bytes.ts";

describe("ScratchBytes", () => {
  test("hands out zeroed areas from one kept buffer, whatever the last call left in it", () => {
    const scratch = new ScratchBytes();
    const first = scratch.zeroed(1000);
    first.fill(7);
    const second = scratch.zeroed(600);
    expect(second.buffer).toBe(first.buffer);
    expect(second.every((v) => v === 0)).toBe(true);
    // A larger area replaces the buffer; it starts zeroed too.
    const larger = scratch.zeroed(5000);
    expect(larger.buffer).not.toBe(first.buffer);
    expect(larger.every((v) => v === 0)).toBe(true);
  });

  test("areas start at their buffer's first byte, in a whole number of 4-byte words", () => {
    const scratch = new ScratchBytes();
    for (const length of [1, 5, 4094, 4096]) {
      const area = scratch.zeroed(length);
      expect(area.length).toBe(length);
      expect(area.byteOffset).toBe(0);
      expect(area.buffer.byteLength % 4).toBe(0);
      expect(area.buffer.byteLength).toBeGreaterThanOrEqual(length);
    }
  });

  test("an area above the retained limit is not kept", () => {
    const scratch = new ScratchBytes();
    const small = scratch.zeroed(100);
    const huge = scratch.zeroed(5 << 20);
    expect(huge.length).toBe(5 << 20);
    expect(scratch.zeroed(5 << 20).buffer).not.toBe(huge.buffer);
    // The small buffer is still the one kept.
    expect(scratch.zeroed(100).buffer).toBe(small.buffer);
  });
});
