/** The benchmark's results as data (saved as JSON) and as the markdown tables of bench/RESULTS.md. */
import type { MachineInfo } from "./machine.ts";
import type { MemoryResult } from "./memory.ts";
import type { BusyNeighbourResult } from "./busy-neighbour.ts";
import type { ImmichConcurrencyResult } from "./immich-concurrency.ts";
import type { Latency, PingLatency, PingUnderLoad, Saturation, SequentialLatency } from "./measure.ts";
import { sessionSettingsFor, type SessionSettings } from "../src/runtime/onnx-session.ts";
import type { StageProfile } from "./stage-profile.ts";
import { mean } from "./lib.ts";

export interface ScenarioResult {
  id: string;
  title: string;
  /** Faces or text lines per request (1 for CLIP). */
  units: number;
  /** Sequential requests vs the floors' sequential plans; absent for the mixed load. */
  latency: SequentialLatency | undefined;
  floorRps: number;
  /** autocannon alone: the throughput compared with the floor's, and the stage profile. */
  saturation: Saturation;
  /** The same load in a window of its own with /ping sampled every 10 ms. */
  ping: PingUnderLoad;
  /** /ping of the idle server while the plain floor's processes saturate the cores. */
  pingBesideFloor: PingLatency;
}

/** Batched (the defaults, `a`) against MAX_BATCH_SIZE 1 (`b`), saturation windows in alternation. */
export interface BatchingResult {
  faces: number;
  groupLatency: { batched: Latency; unbatched: Latency };
  groupFloorRps: { batched: number; unbatched: number };
  groupSaturation: { a: Saturation[]; b: Saturation[] };
  singleFaceSaturation: { a: Saturation[]; b: Saturation[] };
}

export interface BenchReport {
  command: string;
  date: string;
  /** The checkout measured (`git rev-parse --short HEAD`). */
  commit: string;
  machine: MachineInfo;
  settings: { connections: number; seconds: number; rounds: number; runtime: SessionSettings & { workers: number } };
  scenarios: ScenarioResult[];
  batching: BatchingResult | undefined;
  neighbour: BusyNeighbourResult | undefined;
  concurrency: ImmichConcurrencyResult | undefined;
  memory: MemoryResult | undefined;
}

const ms = (value: number) => (value < 10 ? value.toFixed(1) : value.toFixed(0));
const ratio = (value: number) => `${value.toFixed(2)}×`;
const rate = (value: number) => (value < 10 ? value.toFixed(2) : value.toFixed(1));
const mark = (ok: boolean) => (ok ? "met" : "**missed**");

function scenarioTable(results: ScenarioResult[]): string[] {
  const lines = [
    "| scenario | p50 old floor | p50 plain floor: runs + decode = request floor | p50 service (× request floor) | p99 request floor → service | req/s at saturation: plain floor → service | /ping p99 (max) under the same load (req/s meanwhile) | /ping p99 (max), idle server beside the plain floor at saturation |",
    "|---|---|---|---|---|---|---|---|",
  ];
  for (const r of results) {
    const l = r.latency;
    const floors = l
      ? `${ms(l.floor.p50)} + ${ms(l.decode.p50)} = ${ms(l.requestFloor.p50)} ms (${l.floorRuntime}${l.decodeRuntime !== l.floorRuntime ? `; decode ${l.decodeRuntime}` : ""})`
      : "—";
    const service = l ? `${ms(l.service.p50)} ms (${ratio(l.service.p50 / l.requestFloor.p50)})` : "—";
    const p99 = l ? `${ms(l.requestFloor.p99)} → ${ms(l.service.p99)} ms (${ratio(l.service.p99 / l.requestFloor.p99)})` : "—";
    const s = r.saturation;
    const errors = s.load.non2xx + s.load.errors > 0 ? `, ${s.load.non2xx} non-2xx, ${s.load.errors} errors` : "";
    lines.push(
      `| ${r.title} | ${l ? `${ms(l.oldFloor.p50)} ms` : "—"} | ${floors} | ${service} | ${p99} | ${rate(r.floorRps)} → ${rate(s.load.requestsPerSecond)} (${ratio(s.load.requestsPerSecond / r.floorRps)})${errors} | ${ms(r.ping.ping.p99)} ms (${ms(r.ping.ping.max)}) (${rate(r.ping.load.requestsPerSecond)}) | ${ms(r.pingBesideFloor.p99)} ms (${ms(r.pingBesideFloor.max)}) |`,
    );
  }
  return lines;
}

function modelRunTable(results: ScenarioResult[]): string[] {
  const lines = [
    "| scenario | model | plain floor, per request | service (stage timers), per request: all runs | ratio | plain floor split as the service splits it, processes side by side | ratio |",
    "|---|---|---|---|---|---|---|",
  ];
  for (const r of results) {
    for (const m of r.latency?.modelRuns ?? []) {
      const runs = m.serviceRuns === 1 ? "" : ` in ${m.serviceRuns.toFixed(m.serviceRuns % 1 === 0 ? 0 : 1)} runs`;
      const split = m.split ? `${ms(m.split.floorMs)} ms in ${m.split.parts} runs | ${ratio(m.serviceMs / m.split.floorMs)}` : "— | —";
      lines.push(`| ${r.id} | ${m.model} | ${ms(m.floorMs)} ms | ${ms(m.serviceMs)} ms${runs} | ${ratio(m.serviceMs / m.floorMs)} | ${split} |`);
    }
  }
  return lines;
}

const stageList = (profile: StageProfile) =>
  profile.rows
    .map(
      (row) => `${row.stage.replace(/^(kernel|session):/, "")} ×${row.perRequest.toFixed(row.perRequest % 1 === 0 ? 0 : 1)} ${ms(row.waitMs)}+${ms(row.runMs)}`,
    )
    .join("; ");

function profileTable(results: ScenarioResult[], profileOf: (r: ScenarioResult) => StageProfile | undefined): string[] {
  const lines = ["| scenario | session runs / wall time | per request: stage ×runs wait+run ms |", "|---|---|---|"];
  for (const r of results) {
    const profile = profileOf(r);
    if (profile) lines.push(`| ${r.id} | ${profile.inferenceBusy.toFixed(2)} | ${stageList(profile)} |`);
  }
  return lines;
}

const meanRps = (runs: Saturation[]) => mean(runs.map((s) => s.load.requestsPerSecond));

/** Faces per recogniser run, over alternating windows. */
function facesPerRun(runs: Saturation[], facesPerRequest: number): number {
  const perRequest = runs.map((s) => s.profile.rows.find((row) => row.stage.endsWith("/recognition"))?.perRequest ?? NaN);
  return facesPerRequest / mean(perRequest);
}

function batchingTable(b: BatchingResult): string[] {
  const group = { batched: meanRps(b.groupSaturation.a), unbatched: meanRps(b.groupSaturation.b) };
  const single = { batched: meanRps(b.singleFaceSaturation.a), unbatched: meanRps(b.singleFaceSaturation.b) };
  return [
    `| ${b.faces}-face group photo / single-face requests | batched (default) | one face per run (MAX_BATCH_SIZE 1) | gain |`,
    "|---|---|---|---|",
    `| group photo, sequential p50 | ${ms(b.groupLatency.batched.p50)} ms | ${ms(b.groupLatency.unbatched.p50)} ms | ${ratio(b.groupLatency.unbatched.p50 / b.groupLatency.batched.p50)} |`,
    `| group photo, raw onnxruntime floor (faces/s) | ${rate(b.groupFloorRps.batched * b.faces)} | ${rate(b.groupFloorRps.unbatched * b.faces)} | ${ratio(b.groupFloorRps.batched / b.groupFloorRps.unbatched)} |`,
    `| group photo at saturation (faces/s) | ${rate(group.batched * b.faces)} | ${rate(group.unbatched * b.faces)} | ${ratio(group.batched / group.unbatched)} |`,
    `| single-face requests at saturation (req/s) | ${rate(single.batched)} (${facesPerRun(b.singleFaceSaturation.a, 1).toFixed(2)} faces per run) | ${rate(single.unbatched)} | ${ratio(single.batched / single.unbatched)} |`,
  ];
}

/** The item whose `value` is the highest (or the lowest), the first of equals, with that value; `items` not empty. */
function worstOf<T>(items: readonly T[], value: (item: T) => number, worst: "highest" | "lowest"): { item: T; value: number } {
  let item: T = items[0]!;
  let found = value(item);
  for (const candidate of items.slice(1)) {
    const v = value(candidate);
    if (worst === "highest" ? v > found : v < found) [item, found] = [candidate, v];
  }
  return { item, value: found };
}

function targetTable(report: BenchReport): string[] {
  const find = (id: string) => report.scenarios.find((r) => r.id === id);
  const lines = ["| target | measured | |", "|---|---|---|"];
  const modelRuns = report.scenarios.flatMap((r) => r.latency?.modelRuns ?? []).filter((m) => Number.isFinite(m.serviceMs));
  if (modelRuns.length > 0) {
    const { item: worst, value } = worstOf(modelRuns, (m) => m.serviceMs / m.floorMs, "highest");
    lines.push(`| every model's runs per request ≤ 1.05× the plain floor's (worst) | ${ratio(value)} (${worst.model}) | ${mark(value <= 1.05)} |`);
  }
  const splits = modelRuns.flatMap((m) => (m.split ? [{ model: m.model, value: m.serviceMs / m.split.floorMs }] : []));
  if (splits.length > 0) {
    const { item: worst, value } = worstOf(splits, (m) => m.value, "highest");
    lines.push(`| (a batch split side by side: its runs ÷ the plain floor's split alike, worst) | ${ratio(value)} (${worst.model}) | |`);
  }
  for (const id of ["clip-image", "faces", "ocr"]) {
    const l = find(id)?.latency;
    if (!l) continue;
    const value = l.service.p50 / l.requestFloor.p50;
    lines.push(`| ${id} sequential p50 ≤ 1.15× request floor (runs + decode) | ${ratio(value)} | ${mark(value <= 1.15)} |`);
  }
  const text = find("clip-text")?.latency;
  if (text) {
    const extra = text.service.p50 - text.requestFloor.p50;
    lines.push(`| CLIP text p50 ≤ floor + 2 ms | floor ${extra < 0 ? "−" : "+"} ${Math.abs(extra).toFixed(2)} ms | ${mark(extra <= 2)} |`);
  }
  if (report.scenarios.length > 0) {
    const { item: worst, value } = worstOf(report.scenarios, (r) => r.saturation.load.requestsPerSecond / r.floorRps, "lowest");
    lines.push(`| throughput at saturation ≥ 0.9× plain floor (worst scenario) | ${ratio(value)} (${worst.id}) | ${mark(value >= 0.9)} |`);
  }
  if (report.batching) {
    const b = report.batching;
    lines.push(`| batching gain, ${b.faces}-face photo at saturation | ${ratio(meanRps(b.groupSaturation.a) / meanRps(b.groupSaturation.b))} | |`);
  }
  if (report.scenarios.length > 0) {
    const { item, value: worst } = worstOf(report.scenarios, (r) => r.ping.ping.p99, "highest");
    const beside = Math.max(...report.scenarios.map((r) => r.pingBesideFloor.p99));
    lines.push(
      `| /ping p99 < 10 ms at saturation (worst scenario) | ${ms(worst)} ms (${item.id}; an idle server beside the plain floor's load: ${ms(beside)} ms at worst) | ${mark(worst < 10)} |`,
    );
  }
  const c = report.concurrency;
  if (c) lines.push(`| 2 CLIP + 2 faces + 1 OCR in flight ≥ 0.9× the plain floor's capacity | ${ratio(c.floorShare)} | ${mark(c.floorShare >= 0.9)} |`);
  const n = report.neighbour;
  if (n) {
    const value = n.search.busy.p50 / n.search.quiet.p50;
    lines.push(`| search (CLIP text) p50 with a nice-0 hog on every core ≤ 2× quiet | ${ratio(value)} | ${mark(value <= 2)} |`);
  }
  const m = report.memory;
  if (m) {
    const budget = 1.3 * m.modelMb + 80;
    // Judged on the most the models hold: right after their requests, as during a library scan.
    lines.push(
      `| RSS, models loaded ≤ 1.3 × ${m.modelMb.toFixed(0)} MB + 80 MB = ${budget.toFixed(0)} MB: right after their requests / idle 2.5 s / idle 12 s | ${m.busyMb.toFixed(0)} / ${m.loadedMb.toFixed(0)} / ${m.trimmedMb.toFixed(0)} MB | ${mark(m.busyMb <= budget)} |`,
    );
    lines.push(`| RSS idle ≤ 80 MB | ${m.idleMb.toFixed(0)} MB | ${mark(m.idleMb <= 80)} |`);
    lines.push(`| RSS after TTL eviction near idle | ${m.evictedMb.toFixed(0)} MB (idle + ${(m.evictedMb - m.idleMb).toFixed(0)} MB) | |`);
  }
  return lines;
}

/** A titled markdown table: blank line, heading, blank line, header row, separator, rows. */
function section(title: string, columns: string[], rows: string[]): string[] {
  return ["", `### ${title}`, "", `| ${columns.join(" | ")} |`, `|${columns.map(() => "---").join("|")}|`, ...rows];
}

export function renderReport(report: BenchReport): string {
  const { machine, settings } = report;
  const t = settings.runtime;
  const out = [
    `Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGb} GB, ${machine.os}; Bun ${machine.bun}, onnxruntime-node ${machine.onnxruntime}.`,
    `Thread layout (chosen from the core count): ${t.inferenceThreads} inference thread(s) × ${t.intraOpThreads} intra-op threads (inter-op ${t.interOpThreads}; search queries: ${sessionSettingsFor(t, { interactive: true }).intraOpThreads} intra-op threads), ${t.workers} pre/post-processing worker(s); onnxruntime memory arena ${t.arena ? "on" : "off"}.`,
    `Command: \`${report.command}\` — ${settings.connections} connections, ${settings.seconds} s per saturation run, ${settings.rounds} sequential rounds; ${report.date}, commit ${report.commit}.`,
    "",
    "### Targets",
    "",
    ...targetTable(report),
    "",
    "### Service vs floors, per scenario",
    "",
    "Plain floor: onnxruntime's default session options (arena on) with the thread counts the service gives each session (a search query's its own), in a plain Node or Bun process (the faster, per scenario), plus sharp's decode to raw RGB (in whichever runtime decoded faster in the same rounds); at saturation as many such processes as the service has inference threads. Old floor: the service's own former settings (arena off, 128 KiB mmap threshold, huge pages, nice +10), runs only.",
    "",
    ...scenarioTable(report.scenarios),
    "",
    "### Each model's runs per request: plain floor vs inside the service (sequential requests)",
    "",
    ...modelRunTable(report.scenarios),
  ];
  if (report.batching) out.push("", "### Face recognition batching", "", ...batchingTable(report.batching));
  if (report.concurrency) {
    const c = report.concurrency;
    out.push(
      ...section(
        "Immich's default job concurrency (2 CLIP + 2 faces + 1 OCR requests in flight)",
        ["job", "connections", "service req/s (p50 latency)", "plain floor req/s, this type alone", "share of the floor"],
        [
          ...c.jobs.map(
            (j) =>
              `| ${j.id} | ${j.connections} | ${rate(j.load.requestsPerSecond)} (${ms(j.load.p50ms)} ms) | ${rate(j.floorRps)} | ${ratio(j.load.requestsPerSecond / j.floorRps)} |`,
          ),
          `| all | 5 | | | **${ratio(c.floorShare)}** |`,
        ],
      ),
    );
  }
  if (report.neighbour) {
    const n = report.neighbour;
    const row = (label: string, l: BusyNeighbourResult["search"]) =>
      `| ${label} | ${ms(l.quiet.p50)} / ${ms(l.quiet.p99)} ms | ${ms(l.busy.p50)} / ${ms(l.busy.p99)} ms | ${ratio(l.busy.p50 / l.quiet.p50)} |`;
    out.push(
      ...section(
        `Busy neighbour (${n.hogs} nice-0 CPU hogs, one per core; search threads at nice ${[...new Set(n.searchNice)].join("/") || "?"}), sequential requests`,
        ["request", "quiet p50 / p99", "busy p50 / p99", "p50 slowdown"],
        [row("search: CLIP text", n.search), row("background: CLIP image", n.image)],
      ),
    );
  }
  if (report.memory) {
    const m = report.memory;
    out.push(
      ...section(
        "Memory (server RSS from /health)",
        [
          "idle",
          "CLIP visual + textual, face pair, OCR pair loaded: right after their requests",
          "2.5 s later (idle release done)",
          "12 s later (shared arena trimmed)",
          "after TTL eviction",
          "model files",
        ],
        [
          `| ${m.idleMb.toFixed(0)} MB | ${m.busyMb.toFixed(0)} MB | ${m.loadedMb.toFixed(0)} MB (${m.loadedModels} models; ${(m.loadedMb / m.modelMb).toFixed(2)}× the files) | ${m.trimmedMb.toFixed(0)} MB | ${m.evictedMb.toFixed(0)} MB (TTL ${m.ttlSeconds} s) | ${m.modelMb.toFixed(0)} MB |`,
        ],
      ),
    );
  }
  out.push(
    "",
    "### Where the time goes, sequential requests",
    "",
    ...profileTable(report.scenarios, (r) => r.latency?.profile),
    "",
    "### Where the time goes at saturation",
    "",
    ...profileTable(report.scenarios, (r) => r.saturation.profile),
    "",
  );
  return out.join("\n");
}
