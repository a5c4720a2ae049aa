/**
 * resizePil against Pillow 9.4's Image.resize, byte for byte. Goldens come from
 * scripts/reference/pil_resample.py; inputs are re-synthesised here from the same seeds.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { keptTableBytes, type PilFilter, resizePil, resizePilRows, resizePilWindow } from "../../src/imaging/pil-resample.ts";
import type { ResampleBackend } from "../../src/imaging/wasm/resample-module.ts";
import type { RgbImage } from "../../src/imaging/rgb-image.ts";
import { repoRoot } from "../support/fixtures.ts";

interface GoldenCase {
  kind: "noise" | "blocks" | "gradient";
  seed: number;
  input: [number, number];
  output: [number, number];
  filter: PilFilter;
  offset: number;
  sha256: string;
}

const goldenDir = join(repoRoot, "test/golden/pil-resample");
const manifest = JSON.parse(readFileSync(join(goldenDir, "manifest.json"), "utf8")) as { cases: GoldenCase[] };
const outputs = gunzipSync(readFileSync(join(goldenDir, "outputs.bin.gz")));

/** Same xorshift32 stream as the Python script. */
function* xorshift32(seed: number): Generator<number, never> {
  let state = seed >>> 0 || 1;
  for (;;) {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    yield state;
  }
}

/** Mirrors synth() in scripts/reference/pil_resample.py. */
function synthImage(kind: GoldenCase["kind"], width: number, height: number, seed: number): RgbImage {
  const rnd = xorshift32(seed);
  const next = () => rnd.next().value;
  const data = new Uint8Array(width * height * 3);
  if (kind === "noise") {
    for (let i = 0; i < data.length; i++) data[i] = next() & 255;
  } else if (kind === "blocks") {
    const blockW = Math.floor((width + 3) / 4);
    const colours = Array.from({ length: blockW * Math.floor((height + 3) / 4) }, next);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const c = colours[Math.floor(y / 4) * blockW + Math.floor(x / 4)]!;
        for (let ch = 0; ch < 3; ch++) data[(y * width + x) * 3 + ch] = (c >>> ch) & 1 ? 255 : 0;
      }
    }
  } else {
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const base = [
          Math.floor((x * 255) / Math.max(1, width - 1)),
          Math.floor((y * 255) / Math.max(1, height - 1)),
          Math.floor(((x + y) * 255) / Math.max(1, width + height - 2)),
        ];
        for (let ch = 0; ch < 3; ch++) {
          const v = base[ch]! + (next() % 7) - 3;
          data[(y * width + x) * 3 + ch] = Math.min(255, Math.max(0, v));
        }
      }
    }
  }
  return { width, height, data };
}

function sha256(bytes: Uint8Array): string {
  return new Bun.CryptoHasher("sha256").update(bytes).digest("hex");
}

// Both implementations of the passes: the JavaScript reference and the WebAssembly SIMD kernels.
const BACKENDS: ResampleBackend[] = ["js", "wasm"];

describe.each(BACKENDS)("resizePil (%s) matches Pillow 9.4 bit for bit", (backend) => {
  for (const c of manifest.cases) {
    const [iw, ih] = c.input;
    const [ow, oh] = c.output;
    test(`${c.kind} ${iw}x${ih} -> ${ow}x${oh} ${c.filter}`, () => {
      const src = synthImage(c.kind, iw, ih, c.seed);
      const out = resizePil(src, ow, oh, c.filter, backend);
      expect(out.width).toBe(ow);
      expect(out.height).toBe(oh);
      const expected = outputs.subarray(c.offset, c.offset + ow * oh * 3);
      // The golden bytes themselves are checked first so a corrupt golden is not blamed on us.
      expect(sha256(expected)).toBe(c.sha256);
      let mismatches = 0;
      let maxDiff = 0;
      for (let i = 0; i < expected.length; i++) {
        const d = Math.abs(out.data[i]! - expected[i]!);
        if (d > 0) mismatches++;
        if (d > maxDiff) maxDiff = d;
      }
      expect({ mismatches, maxDiff }).toEqual({ mismatches: 0, maxDiff: 0 });
    });
  }
});

describe.each(BACKENDS)("resizePilWindow (%s) equals resize-then-crop", (backend) => {
  const crop = (img: RgbImage, left: number, top: number, w: number, h: number): Uint8Array => {
    const out = new Uint8Array(w * h * 3);
    for (let y = 0; y < h; y++) out.set(img.data.subarray(((top + y) * img.width + left) * 3, ((top + y) * img.width + left + w) * 3), y * w * 3);
    return out;
  };
  // (input, output, window): both passes, horizontal only, vertical only, none, 1-pixel windows.
  const cases: [number, number, number, number, number, number, number, number][] = [
    [40, 30, 97, 61, 13, 7, 50, 40],
    [40, 30, 17, 30, 3, 5, 10, 20],
    [40, 30, 40, 11, 6, 2, 30, 9],
    [40, 30, 40, 30, 9, 4, 20, 20],
    [64, 48, 17, 13, 16, 12, 1, 1],
    [300, 2, 37, 5, 0, 0, 37, 5],
  ];
  for (const filter of ["bilinear", "bicubic", "lanczos"] as PilFilter[]) {
    for (const [iw, ih, ow, oh, left, top, w, h] of cases) {
      test(`${iw}x${ih} -> ${ow}x${oh} window ${w}x${h}+${left}+${top} ${filter}`, () => {
        const src = synthImage("noise", iw, ih, iw * 31 + ih);
        const full = resizePil(src, ow, oh, filter, backend);
        const window = resizePilWindow(src, ow, oh, filter, { left, top, width: w, height: h }, backend);
        expect([window.width, window.height]).toEqual([w, h]);
        expect(window.data).toEqual(crop(full, left, top, w, h));
      });
    }
  }

  test("windows of one size at different places each get their own coefficients", () => {
    // The coefficient tables are kept between calls: one window's must not serve another's.
    const src = synthImage("noise", 40, 30, 7);
    const full = resizePil(src, 97, 61, "lanczos", backend);
    for (const [left, top] of [
      [0, 0],
      [13, 7],
      [40, 20],
    ] as const) {
      const window = resizePilWindow(src, 97, 61, "lanczos", { left, top, width: 50, height: 40 }, backend);
      expect(window.data).toEqual(crop(full, left, top, 50, 40));
    }
  });

  test("keeps at most 1 MiB of tables, whatever geometries come by", () => {
    // A panorama's table is large (40,000 → 992 px, 243 Lanczos taps an output: 0.96 MB): used, not kept.
    const panorama = synthImage("noise", 40_000, 2, 3);
    const before = keptTableBytes();
    expect(resizePil(panorama, 992, 2, "lanczos", backend).width).toBe(992);
    expect(keptTableBytes()).toBe(before);
    const src = synthImage("noise", 6, 2, 3);
    // Many small geometries: the oldest go.
    for (let w = 7; w < 2_000; w += 1) resizePilWindow(src, w, 3, "lanczos", { left: 0, top: 0, width: Math.min(w, 64), height: 3 }, backend);
    expect(keptTableBytes()).toBeGreaterThan(0);
    expect(keptTableBytes()).toBeLessThanOrEqual(1 << 20);
  });

  test("rejects a window outside the resized image", () => {
    const src = synthImage("noise", 5, 4, 1);
    expect(() => resizePilWindow(src, 10, 8, "bicubic", { left: 5, top: 0, width: 6, height: 8 })).toThrow(RangeError);
    expect(() => resizePilWindow(src, 10, 8, "bicubic", { left: 0, top: -1, width: 2, height: 2 })).toThrow(RangeError);
  });
});

describe.each(BACKENDS)("resizePil (%s) contract", (backend) => {
  const src = synthImage("noise", 5, 4, 42);

  test("returns a copy, not the source buffer, when the size is unchanged", () => {
    const out = resizePil(src, 5, 4, "bicubic", backend);
    expect(out.data).toEqual(src.data);
    expect(out.data.buffer).not.toBe(src.data.buffer);
  });

  test("does not modify the source", () => {
    const before = src.data.slice();
    resizePil(src, 11, 3, "lanczos", backend);
    expect(src.data).toEqual(before);
  });

  test("resizePilRows hands over the window's rows in order, each valid during its call", () => {
    // Both passes, then no vertical pass (rows straight from the horizontal buffer).
    for (const [ow, oh] of [
      [7, 3],
      [7, 4],
    ] as const) {
      const window = { left: 1, top: 1, width: 5, height: 2 };
      const want = resizePil(src, ow, oh, "lanczos", backend);
      const seen: number[] = [];
      resizePilRows(
        src,
        ow,
        oh,
        "lanczos",
        window,
        (y, row) => {
          seen.push(y);
          const start = ((window.top + y) * ow + window.left) * 3;
          expect(row.slice()).toEqual(want.data.slice(start, start + window.width * 3));
        },
        backend,
      );
      expect(seen).toEqual([0, 1]);
    }
  });

  test("rejects empty or fractional target sizes", () => {
    expect(() => resizePil(src, 0, 4, "bilinear")).toThrow(RangeError);
    expect(() => resizePil(src, 3, 2.5, "bilinear")).toThrow(RangeError);
  });
});
