/**
 * Where the service's time went during a load: reads the server's per-stage timers
 * (`immich_ml_stage_duration_seconds` on /metrics: decode, each kernel, each session run, split
 * into waiting for a thread and running) before and after, and reports the difference.
 */
export interface StageTotals {
  /** seconds and count by `stage|phase` */
  [key: string]: { seconds: number; count: number };
}

const LINE = /^immich_ml_stage_duration_seconds_(sum|count)\{stage="([^"]+)",phase="([^"]+)"\} (\S+)$/;

export async function stageTotals(url: string): Promise<StageTotals> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const totals: StageTotals = {};
  for (const line of text.split("\n")) {
    const match = LINE.exec(line);
    if (!match) continue;
    const [, kind, stage, phase, value] = match;
    const entry = (totals[`${stage}|${phase}`] ??= { seconds: 0, count: 0 });
    if (kind === "sum") entry.seconds = Number(value);
    else entry.count = Number(value);
  }
  return totals;
}

/** Each timer's growth from `before` to `after`, summed over windows (the time between them left out). */
export function stageGrowth(windows: ReadonlyArray<readonly [StageTotals, StageTotals]>): StageTotals {
  const growth: StageTotals = {};
  for (const [before, after] of windows) {
    for (const [key, total] of Object.entries(after)) {
      const earlier = before[key] ?? { seconds: 0, count: 0 };
      const entry = (growth[key] ??= { seconds: 0, count: 0 });
      entry.seconds += total.seconds - earlier.seconds;
      entry.count += total.count - earlier.count;
    }
  }
  return growth;
}

export interface StageRow {
  stage: string;
  /** Runs of this stage per request. */
  perRequest: number;
  /** Mean milliseconds waiting for a thread, then running, per run. */
  waitMs: number;
  runMs: number;
}

export interface StageProfile {
  rows: StageRow[];
  /** Session run time over wall time: 1 = one inference thread never idle; up to the number of inference threads. */
  inferenceBusy: number;
}

export function stageProfile(before: StageTotals, after: StageTotals, requests: number, wallSeconds: number): StageProfile {
  const stages = new Set(Object.keys(after).map((key) => key.split("|")[0]!));
  const delta = (stage: string, phase: string) => {
    const a = after[`${stage}|${phase}`] ?? { seconds: 0, count: 0 };
    const b = before[`${stage}|${phase}`] ?? { seconds: 0, count: 0 };
    return { seconds: a.seconds - b.seconds, count: a.count - b.count };
  };
  const rows: StageRow[] = [];
  let sessionSeconds = 0;
  for (const stage of stages) {
    const run = delta(stage, "run");
    if (run.count === 0) continue;
    const wait = delta(stage, "wait");
    if (stage.startsWith("session:")) sessionSeconds += run.seconds;
    rows.push({
      stage,
      perRequest: run.count / requests,
      waitMs: wait.count ? (1000 * wait.seconds) / wait.count : 0,
      runMs: (1000 * run.seconds) / run.count,
    });
  }
  rows.sort((x, y) => x.stage.localeCompare(y.stage));
  return { rows, inferenceBusy: sessionSeconds / wallSeconds };
}
