/**
 * Cold start of the built executable (`npm run build`): wall and CPU time from spawn to the first
 * answered /ping, over a few starts after a first one (which extracts the embedded native files),
 * with the machine's page cache warm.
 *
 *   bun bench/cold-start.ts [executable (default dist/immich-ml-<platform>-<arch>)] [--starts 10]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { argNumber, percentile } from "./lib.ts";

const executable = resolve(process.argv[2]?.startsWith("--") === false ? process.argv[2] : `dist/immich-ml-${process.platform}-${process.arch}`);
const starts = argNumber("--starts", 10);

/** Clock ticks per second of /proc/<pid>/stat's CPU times (USER_HZ: 100 on Linux). */
const TICKS = 100;

function cpuMs(pid: number): number {
  const stat = require("node:fs").readFileSync(`/proc/${pid}/stat`, "utf8") as string;
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS;
}

async function startOnce(cache: string, port: number): Promise<{ wallMs: number; cpuMs: number }> {
  const started = performance.now();
  const child = Bun.spawn([executable], {
    env: { ...process.env, IMMICH_HOST: "127.0.0.1", IMMICH_PORT: String(port), MACHINE_LEARNING_CACHE_FOLDER: cache, IMMICH_LOG_LEVEL: "warn" },
    stdout: "ignore",
    stderr: "inherit",
  });
  for (;;) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/ping`)).ok) break;
    } catch {
      await Bun.sleep(2);
    }
  }
  const wallMs = performance.now() - started;
  const cpu = cpuMs(child.pid);
  child.kill("SIGTERM");
  await child.exited;
  return { wallMs, cpuMs: cpu };
}

const cache = mkdtempSync(join(tmpdir(), "immich-ml-cold-"));
try {
  await startOnce(cache, 40000 + Math.floor(Math.random() * 10000));
  const runs = [];
  for (let i = 0; i < starts; i++) runs.push(await startOnce(cache, 40000 + Math.floor(Math.random() * 10000)));
  const wall = runs.map((r) => r.wallMs);
  const cpu = runs.map((r) => r.cpuMs);
  console.log(
    `${executable}: start → /ping p50 ${percentile(wall, 50).toFixed(0)} ms (min ${Math.min(...wall).toFixed(0)}, max ${Math.max(...wall).toFixed(0)}), CPU p50 ${percentile(cpu, 50).toFixed(0)} ms, ${starts} warm starts`,
  );
} finally {
  rmSync(cache, { recursive: true, force: true });
}
