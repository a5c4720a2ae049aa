/**
 * Embedding strings byte for byte against orjson, the library upstream prints them with
 * (`orjson.dumps(np.float32 array, option=OPT_SERIALIZE_NUMPY)`), golden from
 * scripts/reference/orjson_floats.py at the version upstream pins.
 *
 * The 100,000 drawn values are not stored: both sides draw them from the same xorshift32 stream.
 * The golden keeps a sha256 per chunk; `npm run parity` also leaves orjson's full text in
 * .cache/parity, and then the first differing value is quoted.
 */
import { describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { formatFloat32Array } from "../../src/http/float32-format.ts";
import { repoRoot } from "../support/fixtures.ts";
import { describeWithLiveReference, parityCacheDir } from "./parity-cache.ts";

interface OrjsonGolden {
  orjson: string;
  seed: number;
  count: number;
  chunk: number;
  chunkSha256: string[];
  edgeBits: number[];
  edgeText: string;
}

const golden = JSON.parse(readFileSync(join(repoRoot, "test/golden/orjson/float32.json"), "utf8")) as OrjsonGolden;
const liveText = join(parityCacheDir, "orjson-float32.txt");

function xorshift32(state: number): number {
  state ^= state << 13;
  state ^= state >>> 17;
  state ^= state << 5;
  return state >>> 0;
}

/** Same stream as `draw` in orjson_floats.py. */
function draw(count: number, seed: number): Float32Array {
  const bits = new Uint32Array(count);
  let state = seed;
  for (let i = 0; i < count; i++) {
    state = xorshift32(state);
    let value = state;
    if (i % 2 === 1) {
      state = xorshift32(state);
      value = ((value & 0x807fffff) | ((90 + (state % 90)) << 23)) >>> 0;
    }
    bits[i] = value;
  }
  return new Float32Array(bits.buffer);
}

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

/** The first value whose printed form differs, quoted with both forms. */
function firstDifference(values: Float32Array, ours: string, theirs: string): string {
  const a = ours.slice(1, -1).split(",");
  const b = theirs.slice(1, -1).split(",");
  const i = a.findIndex((token, k) => token !== b[k]);
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length)[i]!;
  return `value 0x${bits.toString(16).padStart(8, "0")}: ours ${a[i]}, orjson ${b[i]}`;
}

describe(`embedding strings equal orjson ${golden.orjson}'s bytes`, () => {
  const values = draw(golden.count, golden.seed);

  test(`${golden.edgeBits.length} edge cases (±0, denormals, NaN/inf, powers of ten and their neighbours)`, () => {
    const edges = new Float32Array(Uint32Array.from(golden.edgeBits).buffer);
    const ours = formatFloat32Array(edges);
    if (ours !== golden.edgeText) throw new Error(firstDifference(edges, ours, golden.edgeText));
    expect(ours).toBe(golden.edgeText);
  });

  test(`${golden.count} drawn values, in chunks of ${golden.chunk}`, () => {
    const live = existsSync(liveText) ? readFileSync(liveText, "utf8").split("\n") : undefined;
    const badChunks: string[] = [];
    for (let c = 0; c < golden.chunkSha256.length; c++) {
      const chunk = values.subarray(c * golden.chunk, (c + 1) * golden.chunk);
      const ours = formatFloat32Array(chunk);
      if (sha256(ours) === golden.chunkSha256[c]) continue;
      const reference = live?.[c];
      badChunks.push(reference !== undefined ? `chunk ${c}: ${firstDifference(chunk, ours, reference)}` : `chunk ${c}`);
    }
    expect(badChunks).toEqual([]);
  });
});

describeWithLiveReference("the committed orjson golden is what the pinned orjson prints today", "orjson-float32.json", (path) => {
  test("regenerated golden equals the committed one", () => {
    const live = JSON.parse(readFileSync(path, "utf8")) as OrjsonGolden;
    expect(live).toEqual(golden);
  });

  test("value by value against orjson's full text", () => {
    const values = draw(golden.count, golden.seed);
    const lines = readFileSync(liveText, "utf8").split("\n");
    const edges = new Float32Array(Uint32Array.from(golden.edgeBits).buffer);
    const pairs: Array<[Float32Array, string]> = [[edges, golden.edgeText]];
    for (let c = 0; c < golden.chunkSha256.length; c++) pairs.push([values.subarray(c * golden.chunk, (c + 1) * golden.chunk), lines[c]!]);
    let compared = 0;
    let different = 0;
    let worst: string | undefined;
    for (const [chunk, theirs] of pairs) {
      const ours = formatFloat32Array(chunk);
      const a = ours.slice(1, -1).split(",");
      const b = theirs.slice(1, -1).split(",");
      compared += b.length;
      const bad = a.filter((token, i) => token !== b[i]).length;
      different += bad;
      if (bad > 0) worst ??= firstDifference(chunk, ours, theirs);
    }
    const row = { family: `orjson ${golden.orjson} float32`, cases: compared, identical: compared - different, different, worst };
    mkdirSync(join(parityCacheDir, "results"), { recursive: true });
    writeFileSync(join(parityCacheDir, "results", "orjson.json"), JSON.stringify([row], null, 1));
    expect(different).toBe(0);
  });
});
