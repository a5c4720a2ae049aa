/**
 * A busy neighbour: Immich's own server makes thumbnails and transcodes video on the same machine
 * at normal priority. Sequential latency of a search query (CLIP text) and of a background image
 * request (CLIP image), first on the quiet machine, then with a nice-0 CPU hog on every core
 * (separate processes, each ending by itself after a bounded time). A search must stay within 2×
 * its quiet latency; image work may slow down.
 */
import { availableParallelism } from "node:os";
import { postRequest, summarize, type Latency } from "./measure.ts";
import { SEARCH_THREAD_NAME } from "../src/runtime/thread-priority.ts";
import { serverThreads, type LoadRequest } from "./lib.ts";

export interface NeighbourLatency {
  quiet: Latency;
  busy: Latency;
}

export interface BusyNeighbourResult {
  hogs: number;
  /** The nice values of the server's search threads during the busy rounds (Linux; empty elsewhere). */
  searchNice: number[];
  search: NeighbourLatency;
  image: NeighbourLatency;
}

/** Nice of each thread named ml-search in the server's processes (the search thread and its onnxruntime threads). */
function searchThreadNice(): number[] {
  if (process.platform !== "linux") return [];
  return serverThreads()
    .filter((thread) => thread.name === SEARCH_THREAD_NAME)
    .map((thread) => Number(thread.fields[16]));
}

/** Appends the latencies of `rounds` sequential requests to `samples`. */
async function sample(url: string, request: LoadRequest, rounds: number, samples: number[]): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    const started = performance.now();
    await postRequest(url, request);
    samples.push(performance.now() - started);
  }
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

/**
 * Quiet, then busy, twice, half the rounds each time, so that a slow minute on the machine lands
 * on both sides (measured once each, the quiet query read 35, 53 and 46 ms in three full runs).
 * The search gets four times the rounds, as in the sequential scenarios (run.ts): at 11 ms a
 * query, ten a half read 1.98–2.64× busy/quiet over three runs of one commit, forty a half
 * 1.60–1.79× on a server of its own.
 */
export async function busyNeighbour(url: string, search: LoadRequest, image: LoadRequest, rounds: number): Promise<BusyNeighbourResult> {
  const quiet = { search: [] as number[], image: [] as number[] };
  const busy = { search: [] as number[], image: [] as number[] };
  const half = Math.ceil(rounds / 2);
  const searchHalf = 4 * half;
  let searchNice: number[] = [];
  for (let pass = 0; pass < 2; pass++) {
    await sample(url, search, searchHalf, quiet.search);
    await sample(url, image, half, quiet.image);
    // Long enough for both sequences even if the hogs slow them tenfold, and never longer.
    const slowest = searchHalf * Math.max(...quiet.search) + half * Math.max(...quiet.image);
    const hogs = startHogs(Math.ceil((10 * slowest) / 1000) + 5);
    try {
      await Bun.sleep(500);
      await sample(url, search, searchHalf, busy.search);
      searchNice = searchThreadNice();
      await sample(url, image, half, busy.image);
    } finally {
      await hogs.stop();
    }
  }
  return {
    hogs: availableParallelism(),
    searchNice,
    search: { quiet: summarize(quiet.search), busy: summarize(busy.search) },
    image: { quiet: summarize(quiet.image), busy: summarize(busy.image) },
  };
}
