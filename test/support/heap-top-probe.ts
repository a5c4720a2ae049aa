/**
 * Run as its own process by test/runtime/heap-tops.test.ts, since glibc's malloc settings are
 * process-wide: after the service's malloc settings, how much of a 6 MiB block freed at the top
 * of the main heap goes back to the OS, at start, after an image decode, and after an idle
 * release. Prints the megabytes handed back at each step as one JSON object.
 */
import { readFileSync } from "node:fs";
import { dlopen, FFIType } from "bun:ffi";
import { decodeImage } from "../../src/pipeline/decode-image.ts";
import { fixMallocThresholds, releaseFreedMemory } from "../../src/runtime/allocator.ts";

const sharp: typeof import("sharp").default = require("sharp");

const libc = dlopen("libc.so.6", {
  malloc: { args: [FFIType.u64], returns: FFIType.ptr },
  free: { args: [FFIType.ptr], returns: FFIType.void },
  memset: { args: [FFIType.ptr, FFIType.i32, FFIType.u64], returns: FFIType.ptr },
});
const BLOCK = 6 * 2 ** 20;

const rssMb = () => (Number(readFileSync("/proc/self/statm", "utf8").split(" ")[1]) * 4096) / 2 ** 20;

/** A block taken from the heap's top, written, freed: the megabytes RSS fell by on the free. */
function handedBackMb(): number {
  const block = libc.symbols.malloc(BLOCK);
  if (!block) throw new Error("malloc failed");
  libc.symbols.memset(block, 1, BLOCK);
  const held = rssMb();
  libc.symbols.free(block);
  return held - rssMb();
}

fixMallocThresholds();
const result: Record<string, number> = { atStart: handedBackMb() };
const jpeg = await sharp({ create: { width: 64, height: 48, channels: 3, background: "#808080" } })
  .jpeg()
  .toBuffer();
await decodeImage(new Uint8Array(jpeg), { maxPixels: 1e6 });
result.afterDecode = handedBackMb();
releaseFreedMemory("collect");
result.afterRelease = handedBackMb();
console.log(JSON.stringify(result));
