/**
 * Where a sequential request's time goes, batch by batch, on a fresh server: the stage timers
 * (decode, each kernel, each session run) and the client's latency for every batch of `--batch`
 * requests of one scenario. Two questions it answers that `npm run bench` cannot:
 *
 * - `--pause-ms 1500 --pause-every 2`: what the first requests after a pause cost (past the
 *   service's idle release, 1 s after the last request: allocator.ts `ReleaseDepth`);
 * - `--between floors`: whether the floor processes running between two requests (the bench's
 *   sequential pattern) slow the service's own stages: batches alternate between nothing and the
 *   old + plain floor's request in between.
 *
 *   bun bench/sequential-stages.ts [--scenario ocr] [--batches 10] [--batch 3] [--warm-up 0]
 *     [--pause-ms 0] [--pause-every 2] [--between nothing|floors]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildBenchCache, removeBenchCache } from "./cache.ts";
import { FloorProcess } from "./floor-client.ts";
import { argNumber, argText, mean, startServerProcess } from "./lib.ts";
import { postRequest } from "./measure.ts";
import { PlainFloor } from "./plain-floor-client.ts";
import { buildScenarios, type ScenarioId } from "./scenarios.ts";
import { stageProfile, stageTotals } from "./stage-profile.ts";
import type { SessionSettings } from "../src/runtime/onnx-session.ts";

const id = (argText("--scenario") ?? "ocr") as ScenarioId;
const batches = argNumber("--batches", 10);
const batchSize = argNumber("--batch", 3);
const warmUp = argNumber("--warm-up", 0);
const pauseMs = argNumber("--pause-ms", 0);
const pauseEvery = argNumber("--pause-every", 2);
const between = argText("--between") ?? "nothing";

const cache = buildBenchCache();
const server = await startServerProcess({ MACHINE_LEARNING_CACHE_FOLDER: cache.folder, MACHINE_LEARNING_MODEL_TTL: "0", IMMICH_LOG_LEVEL: "warn" });
const planFolder = mkdtempSync(join(tmpdir(), "immich-ml-bench-plans-"));
let floors: { old: FloorProcess; plain: PlainFloor } | undefined;
try {
  if (between === "floors") {
    const runtime = ((await (await fetch(`${server.url}/health`)).json()) as { runtime: SessionSettings }).runtime;
    const { floor } = await FloorProcess.start(cache, runtime, planFolder);
    floors = { old: floor, plain: await PlainFloor.start(planFolder, runtime) };
    await floors.plain.choose(id);
  }
  const scenario = (await buildScenarios()).find((s) => s.id === id);
  if (!scenario) throw new Error(`no scenario ${id}`);
  const request = scenario.requests[0]!;
  for (let i = 0; i < warmUp; i++) await postRequest(server.url, request);
  console.log(`${id}: ${batches} batches of ${batchSize} sequential requests${pauseMs ? `, ${pauseMs} ms pause before every ${pauseEvery}th` : ""}`);
  for (let b = 0; b < batches; b++) {
    if (pauseMs > 0 && b > 0 && b % pauseEvery === 0) await Bun.sleep(pauseMs);
    // With floors: odd batches have the floors' requests between the service's, even ones nothing.
    const withFloors = floors !== undefined && b % 2 === 1;
    const before = await stageTotals(server.url);
    const latencies: number[] = [];
    for (let i = 0; i < batchSize; i++) {
      const started = performance.now();
      await postRequest(server.url, request);
      latencies.push(performance.now() - started);
      if (withFloors) {
        await floors!.old.once(id);
        await floors!.plain.once(id);
      }
    }
    const profile = stageProfile(before, await stageTotals(server.url), batchSize, 1);
    const meanMs = mean(latencies);
    const stages = profile.rows.map((row) => `${row.stage.replace(/^(kernel|session):/, "")} ${row.waitMs.toFixed(1)}+${row.runMs.toFixed(1)}`).join("; ");
    const label = `requests ${b * batchSize + 1}-${(b + 1) * batchSize}${withFloors ? " (floors between)" : ""}`;
    console.log(`${label.padEnd(30)} mean ${meanMs.toFixed(0)} ms | ${stages}`);
  }
} finally {
  await server.stop();
  await floors?.old.stop();
  await floors?.plain.stop();
  rmSync(planFolder, { recursive: true, force: true });
  removeBenchCache(cache);
}
process.exit(0);
