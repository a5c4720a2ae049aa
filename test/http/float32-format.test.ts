/**
 * The cases the fast digit search (http/float32-format.ts) must hand to the exact one: a value
 * exactly between two shortest decimals, where orjson (like Ryu) takes the even last digit and
 * rounding half up in double arithmetic would not. Every other value is checked against orjson's
 * own bytes in test/parity/orjson-float32.test.ts (100,000 drawn values and 929 edge cases).
 */
import { describe, expect, test } from "bun:test";
import { formatFloat32 } from "../../src/http/float32-format.ts";

describe("float32 printing at a tie", () => {
  test("two 8-digit decimals equally near: the even one, as orjson prints it", () => {
    // 499800.625 is a float32; 499800.62 and 499800.63 both read back as it, at the same distance.
    expect(formatFloat32(499800.625)).toBe("499800.62");
    expect(formatFloat32(-499800.625)).toBe("-499800.62");
  });
});
