/**
 * The decoded pixels as a binary PPM (P6) file, the cheapest format Tesseract's image reader
 * (Leptonica) takes: a header and the RGB bytes as they are, no encoding.
 *
 * The header is padded past byte 500 with a comment because tesseract.js looks for an EXIF
 * orientation tag by matching a byte pattern in the first 500 bytes of whatever it is given, and
 * would rotate the image when pixel values happened to match; upstream applies no EXIF rotation.
 */
import type { RgbImage } from "../../../imaging/rgb-image.ts";

const EXIF_SCAN_BYTES = 500;

export function pnmImage(image: RgbImage): Uint8Array {
  const size = `${image.width} ${image.height}\n255\n`;
  const comment = `# ${"-".repeat(EXIF_SCAN_BYTES)}\n`;
  const header = new TextEncoder().encode(`P6\n${comment}${size}`);
  const out = new Uint8Array(header.byteLength + image.data.byteLength);
  out.set(header);
  out.set(image.data, header.byteLength);
  return out;
}
