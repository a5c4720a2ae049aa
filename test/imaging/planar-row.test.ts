/** The shared last step of the kernels: interleaved RGB rows → normalised float32 planes. */
import { describe, expect, test } from "bun:test";
import { affineLayout, byteTable, uniformLayout, writePlanarRow, type PlaneLayout } from "../../src/imaging/planar-row.ts";

describe("writePlanarRow", () => {
  // Two pixels (10,20,30) and (40,50,60), then one that must not be written.
  const row = Uint8Array.from([10, 20, 30, 40, 50, 60, 70, 80, 90]);

  test("puts each plane's channel through that plane's table, at the given offset", () => {
    const layout: PlaneLayout = {
      channels: [2, 1, 0],
      tables: [byteTable((p) => p + 0.5), byteTable((p) => -p), byteTable((p) => p / 4)],
    };
    const plane = 4;
    const tensor = new Float32Array(3 * plane).fill(-1);
    writePlanarRow(tensor, plane, 1, row, 2, layout);
    expect(Array.from(tensor)).toEqual([
      -1,
      30.5,
      60.5,
      -1, // plane 0: blue + 0.5
      -1,
      -20,
      -50,
      -1, // plane 1: -green
      -1,
      2.5,
      10,
      -1, // plane 2: red / 4
    ]);
  });

  test("byteTable rounds each value to float32 once, as the tensor stores it", () => {
    const table = byteTable((p) => (p - 127.5) / 128);
    expect(table[0]).toBe(Math.fround(-127.5 / 128));
    expect(table[255]).toBe(Math.fround(127.5 / 128));
    const rgb = uniformLayout(table, [0, 1, 2]);
    const tensor = new Float32Array(3);
    writePlanarRow(tensor, 1, 0, Uint8Array.from([0, 128, 255]), 1, rgb);
    expect(Array.from(tensor)).toEqual([table[0]!, table[128]!, table[255]!]);
  });
});

describe("affineLayout", () => {
  test("holds the tables of the formulas it replaces: insightface's (p - 127.5) / 128, the OCR detector's float32 product", () => {
    const scrfd = affineLayout({ offset: 127.5, scale: 1 / 128 }, [0, 1, 2]);
    expect(Buffer.from(scrfd.tables[0].buffer).equals(Buffer.from(byteTable((p) => (p - 127.5) / 128).buffer))).toBe(true);
    const ocrScale = Math.fround(1 / 127.5);
    const ocr = affineLayout({ offset: 0.5, scale: ocrScale }, [2, 1, 0]);
    expect(Array.from(ocr.tables[2])).toEqual(Array.from({ length: 256 }, (_, p) => Math.fround(Math.fround(p - 0.5) * ocrScale)));
    expect(ocr.channels).toEqual([2, 1, 0]);
    expect(ocr.affine).toEqual({ offset: 0.5, scale: ocrScale });
  });

  test("refuses a normalisation float32 arithmetic would not compute exactly as the table", () => {
    // 1/127.5 is not a float32 value; 0.1 neither; 2^-20 is, but 255 - 2^-20 is not.
    expect(() => affineLayout({ offset: 127.5, scale: 1 / 127.5 }, [0, 1, 2])).toThrow(/not exact in float32/);
    expect(() => affineLayout({ offset: 0.1, scale: 1 }, [0, 1, 2])).toThrow(/not exact in float32/);
    expect(() => affineLayout({ offset: 2 ** -20, scale: 1 }, [0, 1, 2])).toThrow(/not exact in float32/);
  });
});
