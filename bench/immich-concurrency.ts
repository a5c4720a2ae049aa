/**
 * The Immich server's default job concurrency: 2 CLIP + 2 face + 1 OCR requests in flight at once
 * (separate autocannon processes, one per job type), against the plain floor. The floor's cost of
 * one request of each type is what the plain processes (as many as the service has inference
 * threads) spend on it back to back; the service's work rate is its completions weighted by those
 * costs, so 1.0 means it gets through the same mix as fast as the plain processes would.
 */
import { runAutocannon, type LoadResult, type ServerProcess } from "./lib.ts";
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
  // Each type's floor rate half before and half after the service's load, so that drift on the
  // machine hits both (as in the saturation scenarios). Measured only before, one full run read
  // 0.81: the service's three rates (6.07 / 4.73 / 1.67 req/s) were 10 % below the same load's
  // minutes later (6.73-6.93 / 5.07-5.20 / 1.93-2.00), while the floor had been measured earlier.
  const floorRates = async () => {
    const rates = new Map<ScenarioId, number>();
    for (const job of IMMICH_JOBS) rates.set(job.id, await plain.rate(job.id, seconds / 6));
    return rates;
  };
  const before = await floorRates();
  const loads = await Promise.all(IMMICH_JOBS.map((job) => runAutocannon(`${server.url}/predict`, scenario(job.id).requests, job.connections, seconds)));
  const after = await floorRates();
  const jobs = IMMICH_JOBS.map((job, i) => ({ ...job, load: loads[i]!, floorRps: (before.get(job.id)! + after.get(job.id)!) / 2 }));
  // Completions over the whole window: each type's steady-state rate would overstate a type that
  // finished its last request early.
  const floorShare = jobs.reduce((sum, job) => sum + job.load.completed / seconds / job.floorRps, 0);
  return { jobs, floorShare };
}
