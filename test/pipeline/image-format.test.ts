import { expect, test } from "bun:test";
import { sniffImageFormat } from "../../src/pipeline/image-format.ts";

const sharp: typeof import("sharp").default = require("sharp");
const base = () => sharp({ create: { width: 8, height: 6, channels: 3, background: "#123456" } });

test("each accepted format is recognised from what sharp writes", async () => {
  const made: Array<[string, Promise<Buffer>]> = [
    ["jpeg", base().jpeg().toBuffer()],
    ["png", base().png().toBuffer()],
    ["webp", base().webp().toBuffer()],
    ["gif", base().gif().toBuffer()],
    ["tiff", base().tiff().toBuffer()],
    ["avif", base().avif().toBuffer()],
  ];
  for (const [format, bytes] of made) expect([format, sniffImageFormat(new Uint8Array(await bytes))]).toEqual([format, format]);
});

test("big-endian TIFF is a TIFF; HEIC (HEVC) and short or foreign headers are not accepted", () => {
  const bytes = (...values: Array<number | string>) =>
    new Uint8Array(values.flatMap((value) => (typeof value === "string" ? [...new TextEncoder().encode(value)] : [value])));
  expect(sniffImageFormat(bytes(0x4d, 0x4d, 0x00, 0x2a, 0, 0, 0, 8))).toBe("tiff");
  expect(sniffImageFormat(bytes(0, 0, 0, 0x18, "ftypheic"))).toBeUndefined();
  expect(sniffImageFormat(bytes(0xff, 0xd8))).toBeUndefined();
  expect(sniffImageFormat(bytes("RIFF", 0, 0, 0, 0, "WAVE"))).toBeUndefined();
  expect(sniffImageFormat(bytes("BM", 0, 0))).toBeUndefined();
});
