/**
 * Prints float32 values as upstream does (orjson serialising numpy float32): the shortest decimal
 * that reads back as the same float32 (`0.013126737`, not the float64 digits `String()` gives),
 * a `.0` on whole numbers (`690.0`), and exponent form for magnitudes below 1e-6 or from 1e13 up
 * (`1.975357e-7`, `4.248207e+14`: a sign but no zero padding in the exponent), as orjson 3.12.0
 * (upstream's pin) prints float32; test/golden/orjson holds its bytes. Any reader gets the same
 * floats back.
 *
 * The text is written as ASCII bytes into one scratch buffer and read out as a string once: a
 * 512-float embedding is printed on the HTTP thread for every search query, a 16-face answer
 * prints 8,192, and building each number as a string of its own cost more than finding its digits.
 */

/*
 * Two searches for the shortest digits: an exact one through JavaScript's own correctly rounded
 * number-to-string conversions (below), and a fast one by scaling in double arithmetic
 * (`findShortestDigits`) that hands the exact one the rare values it cannot be sure of.
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

/** Exact powers of ten: every integer power up to 1e22 is a double exactly. */
const POW10 = Float64Array.from({ length: 23 }, (_, k) => 10 ** k);

/** `value × 10^k`, in steps of at most 10^22 (|k| ≤ 53 here: three roundings at most, each within half a double ulp). */
function scaleByPow10(value: number, k: number): number {
  let scaled = value;
  for (; k > 22; k -= 22) scaled *= POW10[22]!;
  for (; k < -22; k += 22) scaled /= POW10[22]!;
  return k >= 0 ? scaled * POW10[k]! : scaled / POW10[-k]!;
}

const bits32 = new Uint32Array(1);
const float32 = new Float32Array(bits32.buffer);

/** The float32 after `value` (positive, finite), or the first value past the largest float32. */
function nextFloat32(value: number): number {
  float32[0] = value;
  bits32[0]! += 1;
  return Number.isFinite(float32[0]!) ? float32[0]! : value + (value - previousFloat32(value));
}

function previousFloat32(value: number): number {
  float32[0] = value;
  bits32[0]! -= 1;
  return float32[0]!;
}

/** How close, relative to the value, arithmetic on doubles may land to a rounding boundary and still be trusted. */
const TRUST = 1e-12;

/**
 * 1, or 7 where no decimal of 6 significant digits or fewer lies between `below` and `above`. A
 * float32's rounding interval is at most 1.2e-7 of its value wide, so such a decimal lies in it
 * only by coincidence (round numbers, small powers of two): scaled so that 6-digit decimals of
 * this exponent are integers, the interval holds no integer, and so no shorter decimal either,
 * for nearly every value, which spares the search its first six steps. The doubles' error here
 * is about 1e-10 (the scaled values are below 1e7); the margin, TRUST of the value, 1e-6 at most.
 */
function fewestPossibleDigits(below: number, above: number, exponent: number): number {
  const low = scaleByPow10(below, 5 - exponent);
  const high = scaleByPow10(above, 5 - exponent);
  const margin = high * TRUST;
  return Math.floor(high + margin) < low - margin ? 7 : 1;
}

/**
 * What the searches below found last (fields, not a returned object: no allocation per value):
 * `value ≈ d.ddd × 10^exponent`, the integer `digits` holding its `digitCount` digits d.ddd.
 */
const found = { digits: 0, digitCount: 0, exponent: 0 };

/**
 * The shortest digits of a positive float32 and its decimal exponent into `found`, by scaling in
 * double arithmetic, which is exact to about 1e-15 while a float32's rounding interval is about
 * 1e-7 wide: false when a candidate lands too close to a boundary to be sure (a tie between two
 * decimals, or a decimal near the midpoint of two float32s), rare enough for the string-based
 * search to take those (6x slower). The digits come back as numbers, not a string: printing
 * 512 floats takes 34 µs, against 97 with a string per number and all nine steps of the search.
 */
function findShortestDigits(value: number): boolean {
  let exponent = Math.floor(Math.log10(value));
  // log10 of an exact power of ten may land just below the integer (powers above 10^22 are never float32s exactly).
  if (exponent + 1 <= 22 && value >= POW10[exponent + 1]!) exponent++;
  const below = (value + previousFloat32(value)) / 2;
  const above = (value + nextFloat32(value)) / 2;
  for (let precision = fewestPossibleDigits(below, above, exponent); precision <= 9; precision++) {
    const k = precision - 1 - exponent;
    const scaled = scaleByPow10(value, k);
    const fraction = scaled - Math.floor(scaled);
    if (Math.abs(fraction - 0.5) < 1e-6) return false;
    const n = Math.round(scaled);
    const candidate = scaleByPow10(n, -k);
    if (Math.abs(candidate - below) < candidate * TRUST || Math.abs(candidate - above) < candidate * TRUST) return false;
    if (candidate > below && candidate < above) {
      // Rounded up to the next power of ten: one digit, one exponent more.
      if (n === POW10[precision]) {
        found.digits = 1;
        found.digitCount = 1;
        found.exponent = exponent + 1;
      } else {
        found.digits = n;
        found.digitCount = precision;
        found.exponent = exponent;
      }
      return true;
    }
  }
  return false;
}

/** The same, by the string search above: exact in every case. */
function findShortestDigitsExact(value: number): void {
  const [mantissa, exponentText] = shortestExponential(value, shortestPrecision(value)).split("e") as [string, string];
  const digits = mantissa.replace(".", "");
  found.digits = Number(digits);
  found.digitCount = digits.length;
  found.exponent = Number(exponentText);
}

const ZERO = 0x30;
const [MINUS, PLUS, DOT, COMMA, OPEN, CLOSE, E] = [..."-+.,[]e"].map((c) => c.charCodeAt(0)) as [number, number, number, number, number, number, number];
const NULL_BYTES = [..."null"].map((c) => c.charCodeAt(0));
/**
 * Room for one value: its longest forms are a sign, 13 integer digits and `.0` (`-1234567800000.0`)
 * or a sign, `0.00000` and the digits (9 at most; `-0.0000012345678` has 8), and the exponent
 * forms are shorter (`-1.2345678e-38`).
 */
const MAX_VALUE_BYTES = 17;

const ONES = Uint8Array.from({ length: 100 }, (_, n) => ZERO + (n % 10));
const TENS = Uint8Array.from({ length: 100 }, (_, n) => ZERO + Math.floor(n / 10));

/** Writes `count` digits of the integer `digits` (leading digit first) at `at`. */
function writeDigits(out: Uint8Array, at: number, digits: number, count: number): void {
  let i = at + count - 1;
  for (; i > at; i -= 2) {
    const rest = Math.floor(digits / 100);
    const pair = digits - rest * 100;
    out[i] = ONES[pair]!;
    out[i - 1] = TENS[pair]!;
    digits = rest;
  }
  if (i === at) out[at] = ZERO + digits;
}

/** Writes one value's text at `at` (room for MAX_VALUE_BYTES); returns where it ends. */
function writeFloat32(out: Uint8Array, at: number, input: number): number {
  const value = Math.fround(input);
  if (!Number.isFinite(value)) {
    // orjson writes NaN/Infinity as null
    for (const byte of NULL_BYTES) out[at++] = byte;
    return at;
  }
  if (value < 0 || Object.is(value, -0)) out[at++] = MINUS;
  const magnitude = Math.abs(value);
  if (magnitude === 0) {
    out[at] = ZERO;
    out[at + 1] = DOT;
    out[at + 2] = ZERO;
    return at + 3;
  }
  if (!findShortestDigits(magnitude)) findShortestDigitsExact(magnitude);
  const { digits, digitCount, exponent } = found;
  if (exponent < -6 || exponent >= 13) {
    // d.ddde±x, without the dot for a single digit: the digits one place to the right, the first moved back over the gap.
    writeDigits(out, at + 1, digits, digitCount);
    out[at] = out[at + 1]!;
    out[at + 1] = DOT;
    at += digitCount > 1 ? digitCount + 1 : 1;
    out[at++] = E;
    if (exponent > 0) out[at++] = PLUS;
    else out[at++] = MINUS;
    const power = Math.abs(exponent);
    const powerDigits = power >= 10 ? 2 : 1;
    writeDigits(out, at, power, powerDigits);
    return at + powerDigits;
  }
  if (exponent < 0) {
    // 0.000ddd
    out[at++] = ZERO;
    out[at++] = DOT;
    for (let i = 1; i < -exponent; i++) out[at++] = ZERO;
    writeDigits(out, at, digits, digitCount);
    return at + digitCount;
  }
  if (digitCount <= exponent + 1) {
    // ddd000.0
    writeDigits(out, at, digits, digitCount);
    at += digitCount;
    for (let i = digitCount; i <= exponent; i++) out[at++] = ZERO;
    out[at] = DOT;
    out[at + 1] = ZERO;
    return at + 2;
  }
  // ddd.ddd: the digits written one place to the right, then the integer part moved back over the gap.
  writeDigits(out, at + 1, digits, digitCount);
  out.copyWithin(at, at + 1, at + exponent + 2);
  out[at + exponent + 1] = DOT;
  return at + digitCount + 1;
}

/** Reused between calls (grown when a longer array comes); the HTTP thread prints one answer at a time. */
let scratch = Buffer.allocUnsafe(16 * 1024);

function scratchFor(bytes: number): Buffer {
  if (scratch.byteLength < bytes) scratch = Buffer.allocUnsafe(Math.max(bytes, 2 * scratch.byteLength));
  return scratch;
}

export function formatFloat32(input: number): string {
  const out = scratchFor(MAX_VALUE_BYTES);
  return out.toString("latin1", 0, writeFloat32(out, 0, input));
}

/** A float32 vector as a compact JSON array: `[-0.013126737,4.877679e-5,…]`. */
export function formatFloat32Array(values: ArrayLike<number>): string {
  const out = scratchFor(2 + values.length * (MAX_VALUE_BYTES + 1));
  let at = 0;
  out[at++] = OPEN;
  for (let i = 0; i < values.length; i++) {
    if (i > 0) out[at++] = COMMA;
    at = writeFloat32(out, at, values[i]!);
  }
  out[at++] = CLOSE;
  return out.toString("latin1", 0, at);
}
