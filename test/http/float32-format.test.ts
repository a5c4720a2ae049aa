/**
 * The cases the fast digit search (http/float32-format.ts) must hand to the exact one: a value
 * exactly between two shortest decimals, where orjson (like Ryu) takes the even last digit and
 * rounding half up in double arithmetic would not. Every other value is checked against orjson's
 * own bytes in test/parity/orjson-float32.test.ts (100,000 drawn values and 929 edge cases).
 */
import { describe, expect, test } from "bun:test";
import { formatFloat32, formatFloat32Array } from "../../src/http/float32-format.ts";

describe("float32 printing at a tie", () => {
  test("two 8-digit decimals equally near: the even one, as orjson prints it", () => {
    // 499800.625 is a float32; 499800.62 and 499800.63 both read back as it, at the same distance.
    expect(formatFloat32(499800.625)).toBe("499800.62");
    expect(formatFloat32(-499800.625)).toBe("-499800.62");
  });
});

describe("float32 printing into one buffer", () => {
  test("each notation's longest values print whole, alone and many in one array", () => {
    const longest = { "-1234567800000.0": -1234567800000, "-0.0000012345678": -0.0000012345678, "-1.2345678e-38": -1.2345678e-38 };
    for (const [text, value] of Object.entries(longest)) {
      expect(formatFloat32(value)).toBe(text);
      // More values than the first scratch buffer holds: it grows to fit, nothing is cut.
      expect(formatFloat32Array(new Array(3000).fill(value))).toBe(`[${new Array(3000).fill(text).join(",")}]`);
    }
  });

  test("every form's layout: whole numbers, fractions, both exponent signs, one digit or more", () => {
    const values = [690, 1, 0.5, 123.25, 1e-7, 1.975357e-7, 4.248207e14, 1e13, 0, -0, Number.NaN, Number.POSITIVE_INFINITY];
    expect(formatFloat32Array(values)).toBe("[690.0,1.0,0.5,123.25,1e-7,1.975357e-7,4.248207e+14,1e+13,0.0,-0.0,null,null]");
  });
});
