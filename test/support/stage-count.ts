/** Reads the service's stage timers (`immich_ml_stage_duration_seconds` on /metrics) in tests. */

/** How many times `stage` recorded `phase` in a /metrics text; 0 when it never did. */
export function stageCount(metrics: string, stage: string, phase: "wait" | "run" | "abandoned"): number {
  const line = metrics.split("\n").find((l) => l.startsWith(`immich_ml_stage_duration_seconds_count{stage="${stage}",phase="${phase}"}`));
  return line ? Number(line.split(" ").at(-1)) : 0;
}

/** The same, read from the server at `url` now. */
export async function fetchStageCount(url: string, stage: string, phase: "wait" | "run" | "abandoned"): Promise<number> {
  return stageCount(await (await fetch(`${url}/metrics`)).text(), stage, phase);
}
