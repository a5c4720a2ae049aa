/**
 * Prints float32 values as upstream does (orjson serialising numpy float32): the shortest decimal
 * that reads back as the same float32 (`0.013126737`, not the float64 digits `String()` gives),
 * a `.0` on whole numbers (`690.0`), and exponent form for magnitudes below 1e-6 or from 1e13 up
 * (`1.975357e-7`, `4.248207e+14`: a sign but no zero padding in the exponent), as orjson 3.12.0
 * (upstream's pin) prints float32; test/golden/orjson holds its bytes. Any reader gets the same
 * floats back.
 */

/** Shortest significant digits (1-9) that round-trip through float32; monotone, so bisect. */
function shortestPrecision(value: number): number {
  let low = 1;
  let high = 9;
  while (low < high) {
    const mid = (low + high) >> 1;
    if (Math.fround(Number(value.toPrecision(mid))) === value) high = mid;
    else low = mid + 1;
  }
  return low;
}

/**
 * `value.toExponential(digits - 1)`, except on an exact tie: JS rounds a trailing 5 away from
 * zero, orjson (like Ryu) to an even last digit (499800.625 prints as 499800.62, not .63).
 */
function shortestExponential(value: number, digits: number): string {
  const rounded = value.toExponential(digits - 1);
  const oneMore = value.toExponential(digits); // digits + 1 significant digits
  const [oneMoreMantissa] = oneMore.split("e") as [string];
  if (!oneMoreMantissa.endsWith("5")) return rounded;
  // A tie only if the value's exact decimal expansion stops at that 5.
  const [exactMantissa] = value.toExponential(Math.min(100, digits + 40)).split("e") as [string];
  if (exactMantissa.replace(/0+$/, "") !== oneMoreMantissa) return rounded;
  const truncated = oneMore.replace(/5e/, "e").replace(/\.e/, "e");
  const lastDigit = Number(truncated.split("e")[0]!.slice(-1));
  return lastDigit % 2 === 0 && Math.fround(Number(truncated)) === value ? truncated : rounded;
}

export function formatFloat32(input: number): string {
  const value = Math.fround(input);
  if (!Number.isFinite(value)) return "null"; // orjson writes NaN/Infinity as null
  if (value === 0) return Object.is(value, -0) ? "-0.0" : "0.0";
  const exponential = shortestExponential(value, shortestPrecision(value)); // e.g. "-4.877679e-5"
  const [mantissa, exponentText] = exponential.split("e") as [string, string];
  const exponent = Number(exponentText);
  if (exponent < -6 || exponent >= 13) return `${mantissa}e${exponent > 0 ? "+" : ""}${exponent}`;
  const negative = mantissa.startsWith("-");
  const digits = mantissa.replace("-", "").replace(".", "");
  let text: string;
  if (exponent < 0) {
    text = `0.${"0".repeat(-exponent - 1)}${digits}`;
  } else if (digits.length <= exponent + 1) {
    text = `${digits}${"0".repeat(exponent + 1 - digits.length)}.0`;
  } else {
    text = `${digits.slice(0, exponent + 1)}.${digits.slice(exponent + 1)}`;
  }
  return negative ? `-${text}` : text;
}

/** A float32 vector as a compact JSON array: `[-0.013126737,4.877679e-5,…]`. */
export function formatFloat32Array(values: ArrayLike<number>): string {
  const parts = new Array<string>(values.length);
  for (let i = 0; i < values.length; i++) parts[i] = formatFloat32(values[i]!);
  return `[${parts.join(",")}]`;
}
