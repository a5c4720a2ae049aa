/** Decoded images' shared memory, reused between requests (pipeline/image-buffers.ts). */
import { describe, expect, test } from "bun:test";
import { decodeImage } from "../../src/pipeline/decode-image.ts";
import { ImageBuffers } from "../../src/pipeline/image-buffers.ts";

const sharp: typeof import("sharp").default = require("sharp");

async function png(width: number, height: number, colour: { r: number; g: number; b: number }): Promise<Uint8Array> {
  return new Uint8Array(
    await sharp({ create: { width, height, channels: 3, background: colour } })
      .png()
      .toBuffer(),
  );
}

describe("ImageBuffers", () => {
  test("hands back a buffer of the same size, else a new one", () => {
    const buffers = new ImageBuffers();
    const first = buffers.take(1200);
    buffers.give(first);
    expect(buffers.bytes).toBe(1200);
    expect(buffers.take(1200)).toBe(first);
    expect(buffers.bytes).toBe(0);
    expect(buffers.take(1200)).not.toBe(first);
    expect(buffers.take(900).byteLength).toBe(900);
  });

  test("keeps at most four of a size and 32 MiB in all; clear lets them all go", () => {
    const buffers = new ImageBuffers();
    for (let i = 0; i < 6; i++) buffers.give(new SharedArrayBuffer(1000));
    expect(buffers.bytes).toBe(4000);
    for (let i = 0; i < 4; i++) buffers.give(new SharedArrayBuffer(10 * 1024 * 1024));
    expect(buffers.bytes).toBe(4000 + 3 * 10 * 1024 * 1024);
    buffers.clear();
    expect(buffers.bytes).toBe(0);
  });
});

describe("decodeImage with reused buffers", () => {
  test("decodes into a handed-back buffer, every pixel of the new image overwriting the old", async () => {
    const buffers = new ImageBuffers();
    const red = await decodeImage(await png(40, 30, { r: 255, g: 0, b: 0 }), { maxPixels: 10_000, buffers });
    buffers.give(red.data.buffer as SharedArrayBuffer);
    const blue = await decodeImage(await png(40, 30, { r: 0, g: 0, b: 255 }), { maxPixels: 10_000, buffers });
    expect(blue.data.buffer).toBe(red.data.buffer);
    expect(buffers.bytes).toBe(0);
    expect(blue.data.every((value, i) => value === (i % 3 === 2 ? 255 : 0))).toBe(true);
  });
});
