/**
 * Where a saturated server's CPU goes, by thread kind: autocannon holds `--connections` requests
 * of one scenario in flight for `--seconds`, and the CPU time each of the server's threads used
 * meanwhile (utime + stime from /proc, grouped by thread name) is divided by the requests
 * completed. Shows what a request costs beyond its model runs (HTTP, decoding, kernels, garbage
 * collection), the part the plain floor does not pay. Linux only.
 *
 *   bun bench/thread-cpu.ts [--only clip-image,faces] [--connections 4] [--seconds 10]
 */
import { readdirSync, readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { buildBenchCache } from "./cache.ts";
import { argNumber, argText, startServerProcess } from "./lib.ts";
import { postRequest, saturate } from "./measure.ts";
import { buildScenarios, type ScenarioId } from "./scenarios.ts";

const ids = (argText("--only")?.split(",") ?? ["clip-text", "clip-image", "faces", "ocr"]) as ScenarioId[];
const connections = argNumber("--connections", 2 * availableParallelism());
const seconds = argNumber("--seconds", 10);
const CLOCK_TICKS_PER_MS = 0.1; // USER_HZ = 100 on Linux

/** Every process started from src/main.ts (the server re-executes itself once, see huge-page-malloc.ts). */
function serverPids(): number[] {
  return readdirSync("/proc")
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("src/main.ts");
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** CPU ticks per thread kind (the OS thread name without trailing numbers). */
function ticksByThreadKind(): Map<string, number> {
  const ticks = new Map<string, number>();
  for (const pid of serverPids()) {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        const name = readFileSync(`/proc/${pid}/task/${tid}/comm`, "utf8")
          .trim()
          .replace(/[\s\d#]+$/, "");
        const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
        const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        ticks.set(name, (ticks.get(name) ?? 0) + Number(fields[11]) + Number(fields[12]));
      } catch {
        // the thread ended between listing and reading
      }
    }
  }
  return ticks;
}

const cache = buildBenchCache();
const server = await startServerProcess({ MACHINE_LEARNING_CACHE_FOLDER: cache.folder, MACHINE_LEARNING_MODEL_TTL: "0", IMMICH_LOG_LEVEL: "warn" });
const scenarios = await buildScenarios();
try {
  console.log(`| scenario | req/s | CPU ms per request, by thread | total | share of ${availableParallelism()} cores |`);
  console.log("|---|---|---|---|---|");
  for (const id of ids) {
    const scenario = scenarios.find((s) => s.id === id)!;
    for (let i = 0; i < 3; i++) for (const request of scenario.requests) await postRequest(server.url, request);
    const before = ticksByThreadKind();
    const started = performance.now();
    const { load } = await saturate(server, scenario.requests, connections, seconds);
    const wallSeconds = (performance.now() - started) / 1000;
    const perRequest = [...ticksByThreadKind()]
      .map(([name, ticks]) => [name, (ticks - (before.get(name) ?? 0)) / CLOCK_TICKS_PER_MS / load.completed] as const)
      .filter(([, ms]) => ms >= 0.1)
      .sort((a, b) => b[1] - a[1]);
    const total = perRequest.reduce((sum, [, ms]) => sum + ms, 0);
    const share = (total * load.completed) / 1000 / wallSeconds / availableParallelism();
    const threads = perRequest.map(([name, ms]) => `${name} ${ms.toFixed(1)}`).join("; ");
    console.log(`| ${id} | ${load.requestsPerSecond.toFixed(1)} | ${threads} | ${total.toFixed(1)} | ${share.toFixed(2)} |`);
  }
} finally {
  await server.stop();
}
