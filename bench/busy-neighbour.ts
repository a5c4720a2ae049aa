/**
 * A busy neighbour: Immich's own server makes thumbnails and transcodes video on the same machine
 * at normal priority. Sequential latency of a search query (CLIP text) and of a background image
 * request (CLIP image), first on the quiet machine, then with a nice-0 CPU hog on every core
 * (separate processes, each ending by itself after a bounded time). A search must stay within 2×
 * its quiet latency; image work may slow down.
 */
import { availableParallelism } from "node:os";
import { postRequest, summarize, type Latency } from "./measure.ts";
import type { LoadRequest } from "./lib.ts";

export interface NeighbourLatency {
  quiet: Latency;
  busy: Latency;
}

export interface BusyNeighbourResult {
  hogs: number;
  search: NeighbourLatency;
  image: NeighbourLatency;
}

async function latency(url: string, request: LoadRequest, rounds: number): Promise<Latency> {
  const samples: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const started = performance.now();
    await postRequest(url, request);
    samples.push(performance.now() - started);
  }
  return summarize(samples);
}

/** One spinning process per core, nice 0, each stopping by itself after `seconds`. */
function startHogs(seconds: number): { stop: () => Promise<void> } {
  const code = `const end = Date.now() + ${seconds * 1000}; while (Date.now() < end);`;
  const hogs = Array.from({ length: availableParallelism() }, () => Bun.spawn(["node", "-e", code], { stdout: "ignore", stderr: "inherit" }));
  return {
    async stop() {
      for (const hog of hogs) hog.kill();
      await Promise.all(hogs.map((hog) => hog.exited));
    },
  };
}

export async function busyNeighbour(url: string, search: LoadRequest, image: LoadRequest, rounds: number): Promise<BusyNeighbourResult> {
  const quiet = { search: await latency(url, search, rounds), image: await latency(url, image, rounds) };
  // Long enough for both sequences even if the hogs slow them tenfold, and never longer.
  const hogs = startHogs(Math.ceil((10 * rounds * (quiet.search.p99 + quiet.image.p99)) / 1000) + 5);
  try {
    await Bun.sleep(500);
    const busy = { search: await latency(url, search, rounds), image: await latency(url, image, rounds) };
    return { hogs: availableParallelism(), search: { quiet: quiet.search, busy: busy.search }, image: { quiet: quiet.image, busy: busy.image } };
  } finally {
    await hogs.stop();
  }
}
