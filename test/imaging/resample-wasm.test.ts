/**
 * The WebAssembly SIMD kernels against the JavaScript ones (which the Pillow and OpenCV goldens
 * pin, see pil-resample.test.ts and cv/resize.test.ts) on many random shapes, and the committed
 * module against its C sources.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { resizeCvLinear, resizeCvLinearRows } from "../../src/imaging/cv-resize.ts";
import { resizeCvLinearWasm } from "../../src/imaging/cv-resize-wasm.ts";
import { perspectiveCropPil, solveHomography } from "../../src/imaging/pil-perspective.ts";
import { perspectiveCropWasm } from "../../src/imaging/pil-perspective-wasm.ts";
import { type PilFilter, resizePilRows, resizePilWindow } from "../../src/imaging/pil-resample.ts";
import { affineLayout, byteTable, type PlanarTarget, type PlaneLayout } from "../../src/imaging/planar-row.ts";
import { rowDelivery } from "../../src/imaging/wasm-rows.ts";
import { wasmFor } from "../../src/imaging/wasm/resample-module.ts";
import { compileWasm, sourceDigests, WASM_DIR } from "../../scripts/build-wasm.ts";
import { largePhoto } from "./cv/synthetic.ts";

/** Deterministic stream so a failing shape can be replayed. */
function lcg(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state / 2 ** 32;
  };
}

/** Whole numbers from lo to hi inclusive, drawn from `rnd`. */
function intsFrom(rnd: () => number): (lo: number, hi: number) => number {
  return (lo, hi) => lo + Math.floor(rnd() * (hi - lo + 1));
}

/** A w x h RGB image of random bytes. */
function noise(rnd: () => number, width: number, height: number) {
  return { width, height, data: Uint8Array.from({ length: width * height * 3 }, () => Math.floor(rnd() * 256)) };
}

describe("Pillow resize: WebAssembly and JavaScript passes give the same bytes", () => {
  const FILTERS: PilFilter[] = ["bilinear", "bicubic", "lanczos"];
  // Upscales, downscales (up to 1/12: long kernels), unchanged axes, one-pixel rows and columns,
  // windows anywhere; sizes whose row bytes are not multiples of 16 exercise the vector tails.
  for (let seed = 1; seed <= 8; seed++) {
    test(`random shapes, seed ${seed}`, () => {
      const rnd = lcg(seed);
      const int = intsFrom(rnd);
      for (let i = 0; i < 40; i++) {
        const src = noise(rnd, int(1, 90), int(1, 90));
        const keep = int(0, 5);
        const width = keep === 0 ? src.width : int(1, 120);
        const height = keep === 1 ? src.height : int(1, 120);
        const left = int(0, width - 1);
        const top = int(0, height - 1);
        const window = { left, top, width: int(1, width - left), height: int(1, height - top) };
        const filter = FILTERS[i % 3]!;
        const js = resizePilWindow(src, width, height, filter, window, "js");
        const wasm = resizePilWindow(src, width, height, filter, window, "wasm");
        const shape = `${src.width}x${src.height} -> ${width}x${height} window ${JSON.stringify(window)} ${filter}`;
        expect({ shape, same: Buffer.from(wasm.data).equals(Buffer.from(js.data)) }).toEqual({ shape, same: true });
      }
    });
  }

  // Thousands of taps: the split-weight sums of the wasm passes wrap around int32 on the way and
  // must still land on the JavaScript result.
  const longKernels: [number, number, number, number][] = [
    [3000, 3, 1, 2],
    [3, 3000, 2, 1],
  ];
  for (const [iw, ih, ow, oh] of longKernels) {
    test(`${iw}x${ih} -> ${ow}x${oh}, white and noise`, () => {
      const rnd = lcg(iw);
      for (const fill of [() => 255, () => Math.floor(rnd() * 256)]) {
        const src = { width: iw, height: ih, data: Uint8Array.from({ length: iw * ih * 3 }, fill) };
        for (const filter of FILTERS) {
          const window = { left: 0, top: 0, width: ow, height: oh };
          const js = resizePilWindow(src, ow, oh, filter, window, "js");
          expect([...resizePilWindow(src, ow, oh, filter, window, "wasm").data]).toEqual([...js.data]);
        }
      }
    });
  }

  test("a photo-sized resize after small ones (memory grown, stale bytes overwritten)", () => {
    const rnd = lcg(99);
    const src = noise(rnd, 1440, 1080);
    const window = { left: 0, top: 0, width: 992, height: 736 };
    const js = resizePilWindow(src, 992, 736, "lanczos", window, "js");
    expect(Buffer.from(resizePilWindow(src, 992, 736, "lanczos", window, "wasm").data).equals(Buffer.from(js.data))).toBe(true);
  });
});

describe("OpenCV linear resize: WebAssembly and JavaScript give the same bytes", () => {
  // Up and down on either axis, one-pixel sides, 2:1 (handed to the box average either way).
  for (let seed = 1; seed <= 4; seed++) {
    test(`random shapes, seed ${seed}`, () => {
      const rnd = lcg(1000 + seed);
      const int = intsFrom(rnd);
      for (let i = 0; i < 50; i++) {
        const src = noise(rnd, int(1, 80), int(1, 80));
        const [width, height] = i % 10 === 0 && src.width > 1 ? [src.width >> 1, src.height >> 1 || 1] : [int(1, 100), int(1, 100)];
        const shape = `${src.width}x${src.height} -> ${width}x${height}`;
        const same = Buffer.from(resizeCvLinear(src, width, height, "wasm").data).equals(Buffer.from(resizeCvLinear(src, width, height, "js").data));
        expect({ shape, same }).toEqual({ shape, same: true });
      }
    });
  }

  test("a plan whose second tap is not the next pixel is refused, unless it weighs 0", () => {
    const src = noise(lcg(3), 8, 2);
    const axis = (w1: number) => ({ index: Int32Array.of(0), w0: Int32Array.of(2048 - w1), w1: Int32Array.of(w1) });
    const plan = (tap1: number, w1: number) => ({ tap0: Int32Array.of(0), tap1: Int32Array.of(tap1), xs: axis(w1), ys: axis(0) });
    const run = (tap1: number, w1: number) => resizeCvLinearWasm(wasmFor("test", 0, "wasm")!, src, 1, 1, plan(tap1, w1), () => {});
    expect(() => run(6, 100)).toThrow(/not adjacent pixels/);
    expect(() => run(6, 0)).not.toThrow();
    expect(() => run(3, 100)).not.toThrow();
  });

  test("the face detector's letterbox of a 1440 px preview (1440x899 -> 640x400)", () => {
    const src = noise(lcg(7), 1440, 899);
    expect(Buffer.from(resizeCvLinear(src, 640, 400, "wasm").data).equals(Buffer.from(resizeCvLinear(src, 640, 400, "js").data))).toBe(true);
  });
});

describe("Pillow perspective crop: WebAssembly and JavaScript give the same bytes", () => {
  /** Four corners around (cx, cy): a w x h box turned by `angle`, each corner moved by up to `jitter`. */
  const quad = (rnd: () => number, cx: number, cy: number, w: number, h: number, angle: number, jitter: number) =>
    [
      [-w / 2, -h / 2],
      [w / 2, -h / 2],
      [w / 2, h / 2],
      [-w / 2, h / 2],
    ].flatMap(([x, y]) => [
      cx + x! * Math.cos(angle) - y! * Math.sin(angle) + (rnd() - 0.5) * jitter,
      cy + x! * Math.sin(angle) + y! * Math.cos(angle) + (rnd() - 0.5) * jitter,
    ]);
  // Text lines anywhere, across and past every edge (clamped columns, repeated rows, black
  // outside), tilted, skewed, on images down to 1 pixel; sizes from 1 pixel up.
  for (let seed = 1; seed <= 6; seed++) {
    test(`random quadrilaterals, seed ${seed}`, () => {
      const rnd = lcg(500 + seed);
      const int = intsFrom(rnd);
      for (let i = 0; i < 30; i++) {
        const src = noise(rnd, int(1, 120), int(1, 90));
        const corners = quad(rnd, int(-10, src.width + 10), int(-10, src.height + 10), int(2, 80), int(2, 30), (rnd() - 0.5) * 1.2, int(0, 6));
        const [width, height] = [int(1, 90), int(1, 40)];
        const shape = `${src.width}x${src.height} quad ${corners.map((v) => v.toFixed(2)).join(",")} -> ${width}x${height}`;
        const same = Buffer.from(perspectiveCropPil(src, corners, width, height, "wasm").data).equals(
          Buffer.from(perspectiveCropPil(src, corners, width, height, "js").data),
        );
        expect({ shape, same }).toEqual({ shape, same: true });
      }
    });
  }

  test("a crossed quadrilateral (samples outside its own box) and one outside the image: the JavaScript's bytes", () => {
    const src = noise(lcg(77), 60, 40);
    for (const corners of [
      [10, 10, 50, 30, 50, 10, 10, 30],
      [200, 200, 260, 200, 260, 220, 200, 220],
    ]) {
      expect([...perspectiveCropPil(src, corners, 30, 12, "wasm").data]).toEqual([...perspectiveCropPil(src, corners, 30, 12, "js").data]);
    }
  });

  test("by default a line of a photo too large to copy in whole still runs here: only its region is copied", () => {
    // The line reads ~210x60 px of the 72 MB photo.
    const photo = largePhoto();
    const corners = [3000, 2000, 3200, 2010, 3198, 2050, 2999, 2040];
    const coefficients = solveHomography([0, 0, 200, 0, 200, 40, 0, 40], corners);
    const crop = perspectiveCropWasm(undefined, photo, corners, coefficients, 200, 40);
    expect(crop).not.toBeNull();
    expect(Buffer.from(crop!.data).equals(Buffer.from(perspectiveCropPil(photo, corners, 200, 40, "js").data))).toBe(true);
    expect(perspectiveCropWasm("js", photo, corners, coefficients, 200, 40)).toBeNull();
  });
});

describe("rows written into a tensor's planes: converted in the module, the same floats as in JavaScript", () => {
  const SENTINEL = -12345;
  // A different table per plane and the channels permuted, so that a plane or channel mixed up shows.
  const layout: PlaneLayout = {
    channels: [2, 0, 1],
    tables: [byteTable((v) => v / 7 - 3), byteTable((v) => (v - 127.5) / 128), byteTable((v) => Math.fround(v * 1.5) + 0.25)],
  };
  /** A tensor of `plane`-value planes holding only the sentinel, with the target placing rows at `start`, `stride` apart. */
  const target = (plane: number, start: number, stride: number): PlanarTarget => ({
    tensor: new Float32Array(3 * plane).fill(SENTINEL),
    plane,
    start,
    stride,
    layout,
  });
  // Rows as wide as the stride (one copy per plane and band) and narrower (a copy per row); more
  // pixels than one band (2^16) in both.
  const shapes: [number, number, number, number, number][] = [
    // source w, h, output w, h, stride
    [1440, 1080, 992, 736, 992],
    [1440, 899, 600, 500, 640],
    [90, 70, 33, 21, 40],
    [50, 60, 64, 48, 64],
  ];
  for (const [sw, sh, width, height, stride] of shapes) {
    test(`${sw}x${sh} -> ${width}x${height}, rows ${stride} values apart`, () => {
      const src = noise(lcg(sw + height), sw, sh);
      const plane = stride * (height + 3);
      // Rows start one row and one value into the planes, so that writes before or past them show.
      const start = stride + 1;
      const window = { left: 0, top: 0, width, height };
      const [pilJs, pilWasm, cvJs, cvWasm] = [
        target(plane, start, stride),
        target(plane, start, stride),
        target(plane, start, stride),
        target(plane, start, stride),
      ];
      resizePilRows(src, width, height, "lanczos", window, pilJs, "js");
      resizePilRows(src, width, height, "lanczos", window, pilWasm, "wasm");
      resizeCvLinearRows(src, width, height, cvJs, "js");
      resizeCvLinearRows(src, width, height, cvWasm, "wasm");
      expect(Buffer.from(pilWasm.tensor.buffer).equals(Buffer.from(pilJs.tensor.buffer))).toBe(true);
      expect(Buffer.from(cvWasm.tensor.buffer).equals(Buffer.from(cvJs.tensor.buffer))).toBe(true);
      // Every pixel of every row written, nothing else: the sentinel left exactly outside the rows.
      const written = (tensor: Float32Array) => tensor.reduce((n, value) => n + (value === SENTINEL ? 0 : 1), 0);
      expect(written(pilWasm.tensor)).toBe(3 * width * height);
      // And the values are the resized bytes through the layout: pixel (0, 0) of plane 0 is channel 2's.
      const bytes = resizePilWindow(src, width, height, "lanczos", window, "js").data;
      expect(pilWasm.tensor[start]).toBe(layout.tables[0][bytes[2]!]!);
      expect(pilWasm.tensor[2 * plane + start + (height - 1) * stride + width - 1]).toBe(layout.tables[2][bytes[(height * width - 1) * 3 + 1]!]!);
    });
  }
});

describe("rows converted by a layout's formula in the module: the floats of its tables", () => {
  // The face detector's and the OCR detector's normalisations, and channels permuted.
  const layouts = [
    affineLayout({ offset: 127.5, scale: 1 / 128 }, [0, 1, 2]),
    affineLayout({ offset: 0.5, scale: Math.fround(1 / 127.5) }, [2, 1, 0]),
    affineLayout({ offset: -3, scale: Math.fround(0.7) }, [1, 2, 0]),
  ];
  /** The planes `rowDelivery` writes for `rows` (RGB, `width` pixels each) with `layout`. */
  function delivered(rows: Uint8Array, width: number, layout: PlaneLayout): Float32Array {
    const wasm = wasmFor("test", 0, "wasm")!;
    const [at] = wasm.scratch(rows.length) as [number];
    wasm.bytes(at, rows.length).set(rows);
    const height = rows.length / (width * 3);
    const plane = width * height + 5;
    const tensor = new Float32Array(3 * plane).fill(-12345);
    rowDelivery(wasm, width, { tensor, plane, start: 1, stride: width, layout })(at, 0, height);
    wasm.finish();
    return tensor;
  }
  for (const layout of layouts) {
    test(`offset ${layout.affine!.offset}, scale ${layout.affine!.scale}, channels ${layout.channels}`, () => {
      const tablesOnly: PlaneLayout = { channels: layout.channels, tables: layout.tables };
      // Every byte in every channel (pixel i: i, 255 - i, 7i mod 256), in rows of 37 pixels, so
      // that the last pixels of the band (37 x 21, not a multiple of 4) take the one-by-one path.
      const pixels = 37 * 21;
      const rows = Uint8Array.from({ length: pixels * 3 }, (_, k) => {
        const i = Math.floor(k / 3) % 256;
        return [i, 255 - i, (7 * i) % 256][k % 3]!;
      });
      const computed = delivered(rows, 37, layout);
      expect(Buffer.from(computed.buffer).equals(Buffer.from(delivered(rows, 37, tablesOnly).buffer))).toBe(true);
      // Only the rows' values written: the sentinels before and after each plane's rows remain.
      expect(computed.reduce((n, value) => n + (value === -12345 ? 1 : 0), 0)).toBe(3 * 5);
    });
  }
});

describe("wasm module use", () => {
  const MiB = 1 << 20;

  test("by default a photo too large to copy in whole is resized here, its rows copied in a band at a time", () => {
    const photo = largePhoto(); // 6000x4000: 72 MB
    const wasm = wasmFor("test", 0, "wasm")!;
    /** The module's memory after `resize` on a fresh instance (under 1 MiB before). */
    const memoryAfter = (resize: () => void) => {
      wasm.scratch(20 * MiB);
      wasm.finish();
      resize();
      return wasm.exports.memory.buffer.byteLength;
    };
    // The face letterbox: 32 output rows read about 300 of the photo's rows (5.4 MB); kept (< 16 MiB).
    let letterbox: Uint8Array = new Uint8Array();
    expect(memoryAfter(() => (letterbox = resizeCvLinear(photo, 640, 427).data))).toBeGreaterThan(5 * MiB);
    expect(wasm.exports.memory.buffer.byteLength).toBeLessThan(16 * MiB);
    expect(Buffer.from(letterbox).equals(Buffer.from(resizeCvLinear(photo, 640, 427, "js").data))).toBe(true);
    // CLIP's input: 32 source rows at a time (576 KB), the horizontal pass's 4000 rows of 224 (2.7 MB).
    const window = { left: 37, top: 0, width: 224, height: 224 };
    let clip: Uint8Array = new Uint8Array();
    expect(memoryAfter(() => (clip = resizePilWindow(photo, 298, 224, "bicubic", window).data))).toBeGreaterThan(2 * MiB);
    expect(wasm.exports.memory.buffer.byteLength).toBeLessThan(16 * MiB);
    expect(Buffer.from(clip).equals(Buffer.from(resizePilWindow(photo, 298, 224, "bicubic", window, "js").data))).toBe(true);
  });

  test("by default wasm for calls needing up to 64 MiB of its memory, JavaScript for larger ones", () => {
    expect(wasmFor("test", 10 * MiB, undefined)).not.toBeNull();
    expect(wasmFor("test", 65 * MiB, undefined)).toBeNull();
    expect(wasmFor("test", 65 * MiB, "wasm")).not.toBeNull();
    expect(wasmFor("test", 1, "js")).toBeNull();
  });

  test("memory grown past 16 MiB is not kept after the call; less is", () => {
    const wasm = wasmFor("test", 0, "wasm")!;
    wasm.scratch(4 * MiB);
    wasm.finish();
    const kept = wasm.exports.memory;
    expect(kept.buffer.byteLength).toBeGreaterThanOrEqual(4 * MiB);
    wasm.scratch(20 * MiB);
    expect(wasm.exports.memory).toBe(kept);
    expect(kept.buffer.byteLength).toBeGreaterThan(20 * MiB);
    wasm.finish();
    expect(wasm.exports.memory.buffer.byteLength).toBeLessThan(MiB);
    // The fresh instance works: a resize after the swap still equals the JavaScript one.
    const src = noise(lcg(3), 31, 17);
    const window = { left: 0, top: 0, width: 20, height: 40 };
    expect([...resizePilWindow(src, 20, 40, "bicubic", window, "wasm").data]).toEqual([...resizePilWindow(src, 20, 40, "bicubic", window, "js").data]);
  });
});

describe("committed resample.wasm", () => {
  const recorded = JSON.parse(readFileSync(join(WASM_DIR, "resample.wasm.json"), "utf8")) as { sources: Record<string, string> };

  test("was built from the C sources as they are (else run `bun scripts/build-wasm.ts`)", () => {
    expect(sourceDigests()).toEqual(recorded.sources);
  });

  const clang = Bun.which("clang-14");
  test.skipIf(!clang)("is what clang-14 builds from them today", () => {
    const rebuilt = join(tmpdir(), `resample-${process.pid}.wasm`);
    compileWasm(rebuilt);
    const same = Buffer.from(readFileSync(rebuilt)).equals(readFileSync(join(WASM_DIR, "resample.wasm")));
    rmSync(rebuilt);
    expect(same).toBe(true);
  });
  if (!clang) console.warn("clang-14 not found: the committed resample.wasm is checked against its sources' digests only");
});
