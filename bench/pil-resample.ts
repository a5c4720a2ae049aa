/**
 * Cost of resizePil for Immich's default preview (1440x1080) going to CLIP's shortest side 224
 * (298x224, as upstream computes it), per filter. Prints median / p90 milliseconds.
 *
 *   ./node_modules/.bin/bun bench/pil-resample.ts [runs]
 */
import { resizePil, type PilFilter } from "../src/imaging/pil-resample.ts";
import { percentile } from "./lib.ts";

const runs = Number(process.argv[2] ?? 30);
const width = 1440;
const height = 1080;
const data = new Uint8Array(width * height * 3);
for (let i = 0; i < data.length; i++) data[i] = (i * 2654435761) >>> 24;
const src = { width, height, data };
const outWidth = Math.trunc((width / height) * 224);

for (const filter of ["bicubic", "lanczos", "bilinear"] as PilFilter[]) {
  for (let i = 0; i < 3; i++) resizePil(src, outWidth, 224, filter); // JIT warm-up
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    resizePil(src, outWidth, 224, filter);
    times.push(performance.now() - t0);
  }
  console.log(
    `resizePil ${width}x${height} -> ${outWidth}x224 ${filter}: median ${percentile(times, 50).toFixed(2)} ms, p90 ${percentile(times, 90).toFixed(2)} ms (${runs} runs)`,
  );
}
