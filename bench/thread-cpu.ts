/**
 * Where a saturated server's CPU goes, by thread kind: autocannon holds `--connections` requests
 * of one scenario in flight for `--seconds`, and the CPU time each of the server's threads used
 * meanwhile (utime + stime from /proc, grouped by thread name) is divided by the requests
 * completed. Shows what a request costs beyond its model runs (HTTP, decoding, kernels, garbage
 * collection), the part the plain floor does not pay, and the minor page faults each kind of
 * thread took per request (memory touched afresh, which costs more on a VM that hands freed pages
 * to its host: bench/RESULTS.md). Linux only.
 *
 *   bun bench/thread-cpu.ts [--only clip-image,faces] [--connections 4] [--seconds 10]
 */
import { availableParallelism } from "node:os";
import { buildBenchCache, removeBenchCache } from "./cache.ts";
import { argNumber, argText, serverThreads, startServerProcess } from "./lib.ts";
import { saturate, warmUpService } from "./measure.ts";
import { buildScenarios, type ScenarioId } from "./scenarios.ts";

const ids = (argText("--only")?.split(",") ?? ["clip-text", "clip-image", "faces", "ocr"]) as ScenarioId[];
const connections = argNumber("--connections", 2 * availableParallelism());
const seconds = argNumber("--seconds", 10);
const CLOCK_TICKS_PER_MS = 0.1; // USER_HZ = 100 on Linux

interface ThreadUsage {
  ticks: number;
  /** Minor page faults: memory touched for the first time since it was mapped or handed back. */
  faults: number;
}

/** CPU ticks and minor page faults per thread kind (the OS thread name without trailing numbers). */
function usageByThreadKind(): Map<string, ThreadUsage> {
  const usage = new Map<string, ThreadUsage>();
  for (const { name, fields } of serverThreads()) {
    const kindName = name.replace(/[\s\d#]+$/, "");
    const kind = usage.get(kindName) ?? { ticks: 0, faults: 0 };
    kind.ticks += Number(fields[11]) + Number(fields[12]);
    kind.faults += Number(fields[7]);
    usage.set(kindName, kind);
  }
  return usage;
}

const cache = buildBenchCache();
const server = await startServerProcess({ MACHINE_LEARNING_CACHE_FOLDER: cache.folder, MACHINE_LEARNING_MODEL_TTL: "0", IMMICH_LOG_LEVEL: "warn" });
const scenarios = await buildScenarios();
try {
  console.log(
    `| scenario | req/s | CPU ms per request, by thread | total | share of ${availableParallelism()} cores | minor page faults per request, by thread |`,
  );
  console.log("|---|---|---|---|---|---|");
  for (const id of ids) {
    const scenario = scenarios.find((s) => s.id === id)!;
    await warmUpService(server.url, scenario.requests);
    const before = usageByThreadKind();
    const started = performance.now();
    const { load } = await saturate(server, scenario.requests, connections, seconds);
    const wallSeconds = (performance.now() - started) / 1000;
    const used = [...usageByThreadKind()].map(([name, { ticks, faults }]) => {
      const earlier = before.get(name) ?? { ticks: 0, faults: 0 };
      return { name, ms: (ticks - earlier.ticks) / CLOCK_TICKS_PER_MS / load.completed, faults: (faults - earlier.faults) / load.completed };
    });
    const busy = used.filter(({ ms }) => ms >= 0.1).sort((a, b) => b.ms - a.ms);
    const total = busy.reduce((sum, { ms }) => sum + ms, 0);
    const share = (total * load.completed) / 1000 / wallSeconds / availableParallelism();
    const threads = busy.map(({ name, ms }) => `${name} ${ms.toFixed(1)}`).join("; ");
    const faults = used
      .filter(({ faults }) => faults >= 1)
      .sort((a, b) => b.faults - a.faults)
      .map(({ name, faults }) => `${name} ${faults.toFixed(0)}`)
      .join("; ");
    console.log(`| ${id} | ${load.requestsPerSecond.toFixed(1)} | ${threads} | ${total.toFixed(1)} | ${share.toFixed(2)} | ${faults} |`);
  }
} finally {
  await server.stop();
  removeBenchCache(cache);
}
