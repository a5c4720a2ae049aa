/**
 * The images the benchmarks post: real fixture photos re-encoded as the 1440 px previews the
 * Immich server sends (longer side 1440, JPEG quality 80, its default), and a "group photo" made
 * of a grid of copies of the fixture face, for face batching.
 */
import { readFileSync } from "node:fs";
import { fixture } from "./fixtures.ts";

// sharp must be loaded with require() (see src/pipeline/decode-image.ts).
const sharp: typeof import("sharp").default = require("sharp");

const PREVIEW_SIZE = 1440;
const PREVIEW_QUALITY = 80;

async function asPreview(image: Buffer): Promise<Uint8Array> {
  const jpeg = await sharp(image).resize(PREVIEW_SIZE, PREVIEW_SIZE, { fit: "inside" }).jpeg({ quality: PREVIEW_QUALITY }).toBuffer();
  return new Uint8Array(jpeg);
}

export function fixturePreview(name: string): Promise<Uint8Array> {
  return asPreview(readFileSync(fixture("images", name)));
}

/** The face of messi5.jpg (detected at 226,90–257,132) with its surroundings. */
const FACE_TILE = { left: 171, top: 41, width: 140, height: 140 };

/** `columns` x `rows` copies of the fixture face as one preview, like a group photo. */
export async function faceGrid(columns: number, rows: number): Promise<Uint8Array> {
  const tile = await sharp(readFileSync(fixture("images", "messi5.jpg")))
    .extract(FACE_TILE)
    .png()
    .toBuffer();
  const { width, height } = FACE_TILE;
  const tiles = Array.from({ length: columns * rows }, (_, i) => ({ input: tile, left: (i % columns) * width, top: Math.floor(i / columns) * height }));
  const grid = await sharp({ create: { width: width * columns, height: height * rows, channels: 3, background: "#000" } })
    .composite(tiles)
    .png()
    .toBuffer();
  return asPreview(grid);
}
