/**
 * The Immich server's default job concurrency: 2 CLIP + 2 face + 1 OCR requests in flight at once
 * (separate autocannon processes, one per job type), against the plain floor. The floor's cost of
 * one request of each type is what the plain processes (as many as the service has inference
 * threads) spend on it back to back; the service's work rate is its completions weighted by those
 * costs, so 1.0 means it gets through the same mix as fast as the plain processes would.
 */
import { autocannonRun, mean, summarizeRuns, type AutocannonRun, type LoadResult, type ServerProcess } from "./lib.ts";
import type { PlainFloor } from "./plain-floor-client.ts";
import type { Scenario, ScenarioId } from "./scenarios.ts";

export const IMMICH_JOBS: ReadonlyArray<{ id: ScenarioId; connections: number }> = [
  { id: "clip-image", connections: 2 },
  { id: "faces", connections: 2 },
  { id: "ocr", connections: 1 },
];

export interface JobLoad {
  id: ScenarioId;
  connections: number;
  load: LoadResult;
  /** Requests per second of this type alone on the plain floor's processes. */
  floorRps: number;
}

export interface ImmichConcurrencyResult {
  jobs: JobLoad[];
  /** Σ service req/s ÷ floor req/s over the job types: the share of the floor's capacity served. */
  floorShare: number;
}

export async function immichConcurrency(
  server: ServerProcess,
  scenario: (id: ScenarioId) => Scenario,
  plain: PlainFloor,
  seconds: number,
): Promise<ImmichConcurrencyResult> {
  // Floor and service take turns, F S F S F: each type's floor rate in three windows, before,
  // between and after two halves of the service's load, so that drift on the machine hits both.
  // Measured only before, one full run read 0.81: the service's three rates (6.07 / 4.73 / 1.67
  // req/s) were 10 % below the same load's minutes later (6.73-6.93 / 5.07-5.20 / 1.93-2.00), while
  // the floor had been measured earlier; with one window of each before and after, three runs read
  // 0.97, 0.89 and 0.98, and reruns of the 0.89 one 0.99 and 0.94.
  const floorRates = new Map<ScenarioId, number[]>(IMMICH_JOBS.map((job) => [job.id, []]));
  const measureFloor = async () => {
    for (const job of IMMICH_JOBS) floorRates.get(job.id)!.push(await plain.rate(job.id, seconds / 9));
  };
  const halves = IMMICH_JOBS.map((): AutocannonRun[] => []);
  await measureFloor();
  for (let half = 0; half < 2; half++) {
    const runs = await Promise.all(IMMICH_JOBS.map((job) => autocannonRun(`${server.url}/predict`, scenario(job.id).requests, job.connections, seconds / 2)));
    runs.forEach((run, i) => halves[i]!.push(run));
    await measureFloor();
  }
  const jobs = IMMICH_JOBS.map((job, i) => {
    const rates = floorRates.get(job.id)!;
    return { ...job, load: summarizeRuns(halves[i]!), floorRps: mean(rates) };
  });
  // Each type's steady-state rate (completions over the span from its first to its last, both
  // halves together), as at saturation, against the floor's back-to-back runs. Not completions
  // over the time the loads ran: that includes the wind-down, in which autocannon waits for the
  // requests in flight and issues none, leaving the service part idle where the floor never is
  // (three full runs: 0.90, 0.91 and 0.89 that way, 0.94, 0.95 and 0.94 steady-state); nor over
  // the nominal seconds, which counts the wind-down's completions but not its time (0.96-0.98).
  const floorShare = jobs.reduce((sum, job) => sum + job.load.requestsPerSecond / job.floorRps, 0);
  return { jobs, floorShare };
}
