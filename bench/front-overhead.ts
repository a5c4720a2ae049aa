/**
 * What the connection front (src/http/connection-guard.ts) costs: two server processes on the
 * same cache, one behind the front and one without (`MACHINE_LEARNING_CONNECTION_GUARD=false`),
 * asked in alternation so machine noise falls on both alike. Prints p50 of a CLIP text request
 * and of a 1440 px JPEG upload (CLIP visual), and /ping p99 while each serves image requests
 * from two clients (sampled from its own process, windows alternating between the two servers).
 * A model run's speed differs by a few per cent from one process to another, which the request
 * figures include; so it also prints the HTTP path alone, on answers that run no model: `/ping`
 * and a /predict refused for its malformed `entries` (422, the form read as for any request).
 *
 *   bun bench/front-overhead.ts [--rounds 200] [--images 40] [--ping-windows 2]
 */
import { resolve } from "node:path";
import { argNumber, multipartBody, percentile, startServerProcess, type ServerProcess } from "./lib.ts";
import { buildBenchCache, CLIP_MODEL, removeBenchCache } from "./cache.ts";
import { fixture } from "./fixtures.ts";

const rounds = argNumber("--rounds", 200);
const images = argNumber("--images", 40);
const pingWindows = argNumber("--ping-windows", 2);
const PING_WINDOW_S = 6;
const sharp: typeof import("sharp").default = require("sharp");

const cache = buildBenchCache();
const env = { MACHINE_LEARNING_CACHE_FOLDER: cache.folder, IMMICH_LOG_LEVEL: "critical", HF_HUB_OFFLINE: "1", MACHINE_LEARNING_PRELOAD__CLIP: CLIP_MODEL };
const servers: Record<"front" | "direct", ServerProcess> = {
  front: await startServerProcess({ ...env, MACHINE_LEARNING_CONNECTION_GUARD: "true" }),
  direct: await startServerProcess({ ...env, MACHINE_LEARNING_CONNECTION_GUARD: "false" }),
};

const text = multipartBody({ entries: JSON.stringify({ clip: { textual: { modelName: CLIP_MODEL } } }), text: "a photo of a dog on a beach" });
const jpeg = await sharp(fixture("images", "messi5.jpg")).resize({ width: 1440 }).jpeg({ quality: 90 }).toBuffer();
const image = multipartBody({ entries: JSON.stringify({ clip: { visual: { modelName: CLIP_MODEL } } }), image: jpeg });

/** A form whose `entries` is not JSON: answered 422 after the form is read, before any model. */
const malformed = multipartBody({ entries: "{not json", text: "a photo of a dog on a beach" });

/** Milliseconds until the whole answer to `url` has arrived; throws unless it has `status`. */
async function timedFetch(url: string, init: RequestInit | undefined, status: number): Promise<number> {
  const started = performance.now();
  const res = await fetch(url, init);
  await res.arrayBuffer();
  if (res.status !== status) throw new Error(`${res.status} from ${url}`);
  return performance.now() - started;
}

function timed(server: ServerProcess, body: { body: Buffer; contentType: string }, status = 200): Promise<number> {
  return timedFetch(`${server.url}/predict`, { method: "POST", body: body.body, headers: { "content-type": body.contentType } }, status);
}

const timedPing = (server: ServerProcess) => timedFetch(`${server.url}/ping`, undefined, 200);

/** Alternates the two servers, `count` requests each (`ask` one request), after a warm-up of five each. */
async function alternate(ask: (server: ServerProcess) => Promise<number>, count: number): Promise<{ front: number; direct: number }> {
  const samples = { front: [] as number[], direct: [] as number[] };
  for (let i = 0; i < count + 5; i++) {
    const order = i % 2 === 0 ? (["front", "direct"] as const) : (["direct", "front"] as const);
    for (const side of order) {
      const ms = await ask(servers[side]);
      if (i >= 5) samples[side].push(ms);
    }
  }
  return { front: percentile(samples.front, 50), direct: percentile(samples.direct, 50) };
}

async function pingUnderLoad(server: ServerProcess): Promise<number[]> {
  const sampler = Bun.spawn([process.execPath, resolve(import.meta.dir, "ping-sampler.ts"), server.url, String(PING_WINDOW_S)], { stdout: "pipe" });
  const until = performance.now() + PING_WINDOW_S * 1000;
  const client = async () => {
    while (performance.now() < until) await timed(server, image);
  };
  await Promise.all([client(), client()]);
  return JSON.parse(await new Response(sampler.stdout).text()) as number[];
}

const pingP50 = await alternate(timedPing, rounds);
const refusedP50 = await alternate((server) => timed(server, malformed, 422), rounds);
console.log(
  `HTTP path alone, p50 (${rounds} each, alternating): /ping front ${pingP50.front.toFixed(3)} ms, direct ${pingP50.direct.toFixed(3)} ms; ` +
    `a /predict form refused with 422 front ${refusedP50.front.toFixed(3)} ms, direct ${refusedP50.direct.toFixed(3)} ms`,
);
const textP50 = await alternate((server) => timed(server, text), rounds);
console.log(
  `CLIP text p50 (${rounds} each, alternating): front ${textP50.front.toFixed(2)} ms, direct ${textP50.direct.toFixed(2)} ms, difference ${(textP50.front - textP50.direct).toFixed(2)} ms`,
);
const imageP50 = await alternate((server) => timed(server, image), images);
console.log(
  `1440 px JPEG (${jpeg.byteLength} bytes) p50 (${images} each, alternating): front ${imageP50.front.toFixed(1)} ms, direct ${imageP50.direct.toFixed(1)} ms, ratio ${(imageP50.front / imageP50.direct).toFixed(3)}`,
);
const pings = { front: [] as number[], direct: [] as number[] };
for (let i = 0; i < pingWindows; i++) for (const side of ["front", "direct"] as const) pings[side].push(...(await pingUnderLoad(servers[side])));
console.log(
  `/ping p99 under two image clients (${pingWindows} windows of ${PING_WINDOW_S} s each): front ${percentile(pings.front, 99).toFixed(2)} ms, direct ${percentile(pings.direct, 99).toFixed(2)} ms`,
);

await servers.front.stop();
await servers.direct.stop();
removeBenchCache(cache);
