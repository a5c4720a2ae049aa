/**
 * The WebAssembly warp (cv-warp-affine-wasm.ts) against the JavaScript one, which the OpenCV
 * goldens pin (warp-affine.test.ts): OpenCV's own matrices and many random ones, with the crop
 * inside the source, across its borders and past them.
 */
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { warpAffineCv, warpPlan } from "../../../src/imaging/cv-warp-affine.ts";
import { warpAffinePlanarWasm } from "../../../src/imaging/cv-warp-affine-wasm.ts";
import { byteTable } from "../../../src/imaging/planar-row.ts";
import type { RgbImage } from "../../../src/imaging/rgb-image.ts";
import { ARCFACE_NORMALISATION } from "../../../src/tasks/facial-recognition/arcface-align.ts";
import { goldenDir, largePhoto, syntheticImage } from "./synthetic.ts";

/** Each byte as itself: the planes then hold the crop's bytes. */
const IDENTITY = { offset: 0, divisor: 1 };

/** The JavaScript crop's bytes in three planes, as the kernel writes them. */
function planes(crop: RgbImage): Float32Array {
  const plane = crop.width * crop.height;
  const out = new Float32Array(3 * plane);
  for (let i = 0; i < plane; i++) for (let c = 0; c < 3; c++) out[c * plane + i] = crop.data[i * 3 + c]!;
  return out;
}

/** Whether the kernel wrote the JavaScript warp's values; null when it declined (nothing written). */
function sameAsJs(src: RgbImage, matrix: number[], width: number, height: number): boolean | null {
  const out = new Float32Array(3 * width * height).fill(-1);
  if (!warpAffinePlanarWasm("wasm", src, warpPlan(matrix, width, height), width, height, IDENTITY, out, 0)) return null;
  return Buffer.from(out.buffer).equals(Buffer.from(planes(warpAffineCv(src, matrix, width, height)).buffer));
}

/** Deterministic stream so a failing case can be replayed. */
function lcg(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state / 2 ** 32;
  };
}

describe("warpAffineCv: the WebAssembly kernel gives the JavaScript values", () => {
  test("OpenCV's golden matrices", async () => {
    const cases: { name: string; src: [number, number, number]; matrix: number[]; size: [number, number] }[] = (
      await Bun.file(join(goldenDir, "cv.json")).json()
    ).warp;
    for (const c of cases)
      expect({ name: c.name, same: sameAsJs(syntheticImage(c.src[0], c.src[1], c.src[2]), c.matrix, c.size[0], c.size[1]) }).toEqual({
        name: c.name,
        same: true,
      });
  });

  for (let seed = 1; seed <= 6; seed++) {
    test(`random rotations, zooms and shifts, seed ${seed}`, () => {
      const rnd = lcg(seed);
      const between = (lo: number, hi: number) => lo + rnd() * (hi - lo);
      let written = 0;
      for (let i = 0; i < 60; i++) {
        const src = syntheticImage(1 + Math.floor(rnd() * 120), 1 + Math.floor(rnd() * 90), seed * 100 + i);
        const angle = between(-Math.PI, Math.PI);
        const scale = Math.exp(between(-2.5, 2.5));
        const matrix = [
          scale * Math.cos(angle),
          -scale * Math.sin(angle),
          between(-30, 60),
          scale * Math.sin(angle),
          scale * Math.cos(angle),
          between(-30, 60),
        ];
        const [width, height] = [1 + Math.floor(rnd() * 130), 1 + Math.floor(rnd() * 130)];
        const same = sameAsJs(src, matrix, width, height);
        if (same === null) {
          // Declined only when the crop reads no pixel of the source: all black.
          expect(warpAffineCv(src, matrix, width, height).data.every((v) => v === 0)).toBe(true);
          continue;
        }
        written++;
        expect({ i, matrix, width, height, same }).toEqual({ i, matrix, width, height, same: true });
      }
      expect(written).toBeGreaterThan(20);
    });
  }

  test("its float32 normalisation gives the table's value for every byte (ArcFace's (p - 127.5) / 127.5)", () => {
    // A 16x16 image holding each byte once per channel, copied as it is by the identity matrix.
    const data = Uint8Array.from({ length: 256 * 3 }, (_, i) => (Math.floor(i / 3) * (1 + (i % 3) * 2)) % 256);
    const out = new Float32Array(3 * 256);
    expect(warpAffinePlanarWasm("wasm", { width: 16, height: 16, data }, warpPlan([1, 0, 0, 0, 1, 0], 16, 16), 16, 16, ARCFACE_NORMALISATION, out, 0)).toBe(
      true,
    );
    const table = byteTable((p) => (p - 127.5) / 127.5);
    const expected = Float32Array.from({ length: 3 * 256 }, (_, i) => table[data[(i % 256) * 3 + Math.floor(i / 256)]!]!);
    expect(Buffer.from(out.buffer).equals(Buffer.from(expected.buffer))).toBe(true);
    expect(new Set(data.filter((_, i) => i % 3 === 0)).size).toBe(256);
  });

  test("a degenerate (NaN) matrix is left to the JavaScript warp", () => {
    expect(sameAsJs(syntheticImage(20, 20, 1), new Array(6).fill(Number.NaN), 8, 8)).toBeNull();
  });

  test("by default a crop of a photo too large to copy in whole still runs here: only its region is copied", () => {
    // The crop reads ~250 px square of the 72 MB photo.
    const photo = largePhoto();
    // Reads around (3000, 2000), turned and at half scale.
    const matrix = [0.5, 0.1, -1700, -0.1, 0.5, -700];
    const out = new Float32Array(3 * 112 * 112);
    expect(warpAffinePlanarWasm(undefined, photo, warpPlan(matrix, 112, 112), 112, 112, IDENTITY, out, 0)).toBe(true);
    expect(Buffer.from(out.buffer).equals(Buffer.from(planes(warpAffineCv(photo, matrix, 112, 112)).buffer))).toBe(true);
    expect(warpAffinePlanarWasm("js", photo, warpPlan(matrix, 112, 112), 112, 112, IDENTITY, out, 0)).toBe(false);
  });
});
