/**
 * The images a fuzz run starts from: every format and pixel layout the service accepts (odd but
 * valid ones included) plus hand-made headers that lie about their size. Mutations of these
 * reach deeper into each decoder than random bytes do, because the format is recognised first.
 */
import { deflateSync } from "node:zlib";

const sharp: typeof import("sharp").default = require("sharp");

export interface SeedImage {
  name: string;
  bytes: Uint8Array;
  /** Width x height the service must report, or undefined when the image must be refused (400). */
  size: [number, number] | undefined;
}

function pngChunk(type: string, data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, "ascii");
  Buffer.from(data).copy(out, 8);
  out.writeUInt32BE(Bun.hash.crc32(Buffer.concat([Buffer.from(type, "ascii"), Buffer.from(data)])) >>> 0, 8 + data.length);
  return out;
}

/** A PNG whose header declares `width`x`height` but whose data is one tiny row: a pixel bomb, or zero-sized. */
export function declaredPng(width: number, height: number): Uint8Array {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  const signature = Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]);
  return new Uint8Array(
    Buffer.concat([signature, pngChunk("IHDR", ihdr), pngChunk("IDAT", deflateSync(Buffer.alloc(4))), pngChunk("IEND", new Uint8Array(0))]),
  );
}

/** A GIF whose logical screen and frame claim 65535x65535 pixels, with almost no data. */
function declaredGif(): Uint8Array {
  const header = Buffer.from("GIF89a", "ascii");
  const screen = Buffer.from([0xff, 0xff, 0xff, 0xff, 0x80, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff]);
  const frame = Buffer.from([0x2c, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0x02, 0x02, 0x44, 0x01, 0, 0x3b]);
  return new Uint8Array(Buffer.concat([header, screen, frame]));
}

/**
 * 205 bytes that librsvg renders for minutes: a blur over a huge canvas. Refused from its header
 * now; decoded, it held a core far past the request timeout.
 */
export const SVG_FILTER_BOMB = new TextEncoder().encode(
  '<svg xmlns="http://www.w3.org/2000/svg" width="9000" height="9000"><filter id="f"><feGaussianBlur stdDeviation="900"/></filter><rect width="9000" height="9000" filter="url(#f)"/></svg>',
);

const solid = (width: number, height: number, channels: 3 | 4 = 3) =>
  sharp({ create: { width, height, channels, background: { r: 200, g: 100, b: 50, alpha: 0.5 } } });

/** A small picture with detail, so compressed formats hold more than one flat block. */
const gradient = (width: number, height: number) => {
  const pixels = Buffer.alloc(width * height * 3);
  for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 7 + Math.floor(i / (width * 3)) * 13) & 0xff;
  return sharp(pixels, { raw: { width, height, channels: 3 } });
};

export async function buildImageCorpus(): Promise<SeedImage[]> {
  const valid = async (name: string, size: [number, number], make: () => Promise<Buffer>): Promise<SeedImage> => ({
    name,
    bytes: new Uint8Array(await make()),
    size,
  });
  const frames = await Promise.all([solid(32, 24).png().toBuffer(), gradient(32, 24).png().toBuffer()]);
  return [
    await valid("jpeg", [64, 48], () => gradient(64, 48).jpeg().toBuffer()),
    await valid("progressive jpeg", [80, 60], () => gradient(80, 60).jpeg({ progressive: true }).toBuffer()),
    await valid("CMYK jpeg", [64, 48], () => gradient(64, 48).jpeg().toColourspace("cmyk").toBuffer()),
    // Orientation 6 must not rotate (upstream decodes without EXIF rotation); 60 kB of EXIF text.
    await valid("EXIF-heavy jpeg", [64, 48], () =>
      gradient(64, 48)
        .withExif({ IFD0: { ImageDescription: "d".repeat(20_000), Copyright: "c".repeat(20_000), Artist: "a".repeat(20_000) } })
        .withMetadata({ orientation: 6 })
        .jpeg()
        .toBuffer(),
    ),
    await valid("png", [64, 48], () => gradient(64, 48).png().toBuffer()),
    await valid("png with alpha", [64, 48], () => solid(64, 48, 4).png().toBuffer()),
    await valid("greyscale png", [64, 48], () => gradient(64, 48).greyscale().png().toBuffer()),
    await valid("16-bit png", [64, 48], () => gradient(64, 48).png().toColourspace("rgb16").toBuffer()),
    await valid("palette png", [64, 48], () => gradient(64, 48).png({ palette: true }).toBuffer()),
    await valid("webp", [64, 48], () => gradient(64, 48).webp().toBuffer()),
    await valid("lossless webp with alpha", [64, 48], () => solid(64, 48, 4).webp({ lossless: true }).toBuffer()),
    await valid("gif", [64, 48], () => gradient(64, 48).gif().toBuffer()),
    await valid("animated gif", [32, 24], () =>
      sharp(frames, { join: { animated: true } })
        .gif()
        .toBuffer(),
    ),
    await valid("animated webp", [32, 24], () =>
      sharp(frames, { join: { animated: true } })
        .webp()
        .toBuffer(),
    ),
    await valid("tiff", [64, 48], () => gradient(64, 48).tiff({ compression: "lzw" }).toBuffer()),
    await valid("avif", [64, 48], () => gradient(64, 48).avif().toBuffer()),
    await valid("heif", [64, 48], () => gradient(64, 48).heif({ compression: "av1" }).toBuffer()),
    await valid("1x1 png", [1, 1], () => solid(1, 1).png().toBuffer()),
    await valid("1x1 jpeg", [1, 1], () => solid(1, 1).jpeg().toBuffer()),
    await valid("2000x2 png", [2000, 2], () => solid(2000, 2).png().toBuffer()),
    { name: "30000x30000 png bomb", bytes: declaredPng(30_000, 30_000), size: undefined },
    { name: "65535x65535 gif bomb", bytes: declaredGif(), size: undefined },
    { name: "0-width png", bytes: declaredPng(0, 64), size: undefined },
    { name: "0-height png", bytes: declaredPng(64, 0), size: undefined },
    { name: "svg filter bomb", bytes: SVG_FILTER_BOMB, size: undefined },
    {
      name: "svg with text",
      bytes: new TextEncoder().encode(
        '<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="64" height="48"><text y="20">fontconfig</text></svg>',
      ),
      size: undefined,
    },
    { name: "pdf", bytes: new TextEncoder().encode("%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF"), size: undefined },
  ];
}
