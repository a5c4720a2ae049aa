/**
 * Which image formats /predict decodes, told from the first bytes before any decoder sees them.
 *
 * The Immich server sends JPEG or WebP previews; PNG, GIF and TIFF are formats upstream's Pillow
 * reads out of the box (clients other than the server send them), and AVIF (AV1 in HEIF) Pillow
 * reads since 11.2. Everything else libvips could open is refused: SVG (librsvg renders filters
 * for minutes and makes fontconfig write caches), PDF, FITS, Matlab, raw pixel formats, and
 * whatever ImageMagick would take. Sniffed by hand because libvips' own detection would hand the
 * bytes to exactly those loaders.
 */
import { RequestError } from "./request-error.ts";

export type ImageFormat = "jpeg" | "png" | "webp" | "gif" | "tiff" | "avif";

const ascii = (bytes: Uint8Array, start: number, end: number) => String.fromCharCode(...bytes.subarray(start, end));
const startsWith = (bytes: Uint8Array, prefix: readonly number[]) => prefix.every((byte, i) => bytes[i] === byte);

/** ISO-BMFF brands of still and sequence AVIF, and of HEIF files libheif may carry AV1 in. */
const AVIF_BRANDS = new Set(["avif", "avis", "mif1", "msf1"]);

export function sniffImageFormat(bytes: Uint8Array): ImageFormat | undefined {
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return "jpeg";
  if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return "png";
  if (ascii(bytes, 0, 4) === "RIFF" && ascii(bytes, 8, 12) === "WEBP") return "webp";
  if (["GIF87a", "GIF89a"].includes(ascii(bytes, 0, 6))) return "gif";
  if (startsWith(bytes, [0x49, 0x49, 0x2a, 0x00]) || startsWith(bytes, [0x4d, 0x4d, 0x00, 0x2a])) return "tiff";
  if (ascii(bytes, 4, 8) === "ftyp" && AVIF_BRANDS.has(ascii(bytes, 8, 12))) return "avif";
  return undefined;
}

/** A short name for what the bytes look like, for the refusal (never the bytes themselves). */
function describeUnsupported(bytes: Uint8Array): string {
  const head = new TextDecoder("latin1").decode(bytes.subarray(0, 256)).trimStart().toLowerCase();
  if (head.startsWith("<svg") || (head.startsWith("<?xml") && head.includes("<svg"))) return "SVG";
  if (head.startsWith("%pdf")) return "PDF";
  if (head.startsWith("bm")) return "BMP";
  if (ascii(bytes, 4, 8) === "ftyp") return `ISO media (brand '${ascii(bytes, 8, 12).replace(/[^\x20-\x7e]/g, "?")}')`;
  return "unknown";
}

/** The format of `bytes`, or a 400 (as for any image that cannot be decoded) naming what was sent and what is accepted. */
export function acceptedImageFormat(bytes: Uint8Array): ImageFormat {
  const format = sniffImageFormat(bytes);
  if (format) return format;
  throw new RequestError(400, `Unsupported image format: ${describeUnsupported(bytes)}. Send JPEG, PNG, WebP, GIF, TIFF or AVIF`);
}
