/**
 * Decodes the posted image the way upstream's `decode_pil` does: no EXIF rotation, converted to
 * 8-bit RGB with alpha dropped (not composited), palette and greyscale expanded. The pixels land
 * in a SharedArrayBuffer so every task of the request can read them from worker threads uncopied.
 * Decoding runs on libuv's thread pool (sharp), not on the event loop, and only for the formats
 * `image-format.ts` accepts; libvips itself stops a decode that outlives its time limit.
 */
import type { RgbImage } from "../imaging/rgb-image.ts";
import { RequestError } from "./request-error.ts";
import { keepHeapTops } from "../runtime/allocator.ts";
import { recordStage } from "../runtime/stage-timing.ts";
import { acceptedImageFormat } from "./image-format.ts";
import type { ImageBuffers } from "./image-buffers.ts";

type Sharp = typeof import("sharp").default;
let loadedSharp: Sharp | undefined;

/**
 * sharp, loaded by the first decode rather than at start: libvips takes about 20 MB of the
 * executable's idle RSS (57 instead of 77 MB) and 20-30 ms of its start, and an instance that only
 * answers searches never needs it. A sharp that cannot load fails that request (outside the
 * decode's error mapping, so it is not reported as a bad image); the executable's extracted addon
 * ends the process with one line, as onnxruntime's does on its first model (native/loader.ts).
 */
function loadSharp(): Sharp {
  if (!loadedSharp) {
    // sharp must be loaded with require(): its ESM build hides the native addon from `bun build --compile`.
    const sharp = require("sharp") as Sharp;
    // libvips' operation cache would keep recently decoded images (up to 50 MB); every posted image is new.
    sharp.cache(false);
    loadedSharp = sharp;
  }
  return loadedSharp;
}

export interface DecodeLimits {
  /** Largest width x height accepted; larger images are refused before their pixels are decoded. */
  maxPixels: number;
  /**
   * Seconds a decode may run (0 or absent: no limit), enforced inside libvips so that the work really ends,
   * unlike a timer that only stops waiting for it. Whole seconds: libvips' granularity.
   */
  maxSeconds?: number;
  /**
   * Told, before the pixels are decoded, how many bytes decoding will hold (the raw image and its
   * shared copy); throws to refuse. Read from the header, after the pixel limit is checked.
   */
  beforeDecode?: (decodedBytes: number) => void;
  /** Where the shared copy's memory comes from (reused between requests); else a new buffer. */
  buffers?: ImageBuffers;
}

/** Bytes a decode holds per pixel: 3 in libvips' output buffer, 3 in the shared copy. */
export const DECODED_BYTES_PER_PIXEL = 6;

export async function decodeImage(bytes: Uint8Array, limits: DecodeLimits): Promise<RgbImage> {
  if (bytes.byteLength === 0) throw new RequestError(400, "Image is empty (0 bytes)");
  acceptedImageFormat(bytes);
  const sharp = loadSharp();
  if (limits.beforeDecode) limits.beforeDecode((await headerPixels(sharp, bytes, limits)) * DECODED_BYTES_PER_PIXEL);
  let decoded: { data: Buffer; info: import("sharp").OutputInfo };
  // The output then lands in the memory the last decode freed (allocator.ts), not in pages faulted in afresh.
  keepHeapTops();
  const started = performance.now();
  try {
    decoded = await sharp(bytes, { limitInputPixels: limits.maxPixels, failOn: "error", animated: false, autoOrient: false })
      .removeAlpha()
      .toColourspace("srgb")
      .raw({ depth: "uchar" })
      .timeout({ seconds: Math.ceil(limits.maxSeconds ?? 0) })
      .toBuffer({ resolveWithObject: true });
  } catch (error) {
    throw decodeFailure(error, limits);
  }
  recordStage("decode", "run", (performance.now() - started) / 1000);
  const { width, height, channels } = decoded.info;
  if (width === 0 || height === 0) throw new RequestError(400, "Image has zero width or height");
  if (channels !== 3) throw new RequestError(400, `Unsupported image: decoded to ${channels} channels`);
  const shared = new Uint8Array(limits.buffers?.take(decoded.data.byteLength) ?? new SharedArrayBuffer(decoded.data.byteLength));
  shared.set(decoded.data);
  freeNow(decoded.data);
  return { width, height, data: shared };
}

/**
 * Frees libvips' output now rather than at a later collection of this thread's heap: detaching
 * its buffer (`transfer(0)`) releases the memory at once, so the next decode reuses it instead of
 * faulting in more while the last ones wait for the collector (4-6 MB a 1440 px preview).
 * Only a buffer the view covers alone is detached; nothing else refers to it.
 */
export function freeNow(data: Buffer): void {
  const buffer = data.buffer as ArrayBuffer;
  if (data.byteOffset === 0 && buffer.byteLength === data.byteLength) buffer.transfer(0);
}

/** Width x height from the header (no pixels decoded), refusing images past the pixel limit. */
async function headerPixels(sharp: Sharp, bytes: Uint8Array, limits: DecodeLimits): Promise<number> {
  let size: { width?: number; height?: number };
  try {
    size = await sharp(bytes, { limitInputPixels: limits.maxPixels, animated: false }).metadata();
  } catch (error) {
    throw decodeFailure(error, limits);
  }
  const pixels = (size.width ?? 0) * (size.height ?? 0);
  if (pixels > limits.maxPixels) throw decodeFailure(new Error("pixel limit"), limits);
  return pixels;
}

function decodeFailure(error: unknown, limits: DecodeLimits): RequestError {
  const message = error instanceof Error ? error.message : String(error);
  if (/pixel limit/i.test(message)) {
    return new RequestError(400, `Image is too large: more than ${limits.maxPixels} pixels (MACHINE_LEARNING_MAX_IMAGE_PIXELS)`);
  }
  if (/^timeout:/i.test(message))
    return new RequestError(504, `Decoding the image took longer than ${limits.maxSeconds} s (MACHINE_LEARNING_REQUEST_TIMEOUT_S)`);
  if (/unsupported image format/i.test(message)) return new RequestError(400, "Image format is not supported or the data is not an image");
  return new RequestError(400, `Image cannot be decoded: ${message}`);
}
