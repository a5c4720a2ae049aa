/**
 * The old floor's process (see floor-client.ts), and the builder of every floor plan: it builds
 * them with the service's own kernels, writes them to the plan folder for the plain floor
 * (plan-files.ts), then answers `once` (one plan run, its milliseconds) and `rate` (plans per
 * second, back to back).
 *
 *   bun bench/floor-process.ts <cache JSON> <session settings JSON> <plan folder>   (over Bun IPC)
 */
import type { BenchCache } from "./cache.ts";
import { RawSessions } from "./floor-plans.ts";
import { buildFloors, type FloorId } from "./scenarios.ts";
import type { SessionSettings } from "../src/runtime/onnx-session.ts";
import type { FloorReply, FloorRequest } from "./floor-client.ts";
import { writePlanFiles } from "./plan-files.ts";

const cache = JSON.parse(process.argv[2]!) as BenchCache;
const sessions = new RawSessions(JSON.parse(process.argv[3]!) as SessionSettings);
const floors = await buildFloors(cache, sessions);
writePlanFiles(process.argv[4]!, floors);

async function answer(request: FloorRequest): Promise<FloorReply> {
  const plan = floors[request.id];
  if (request.op === "once") {
    const started = performance.now();
    await sessions.runPlan(plan);
    return { seq: request.seq, value: performance.now() - started };
  }
  const end = performance.now() + request.seconds * 1000;
  const started = performance.now();
  let done = 0;
  while (performance.now() < end) {
    await sessions.runPlan(plan);
    done++;
  }
  return { seq: request.seq, value: done / ((performance.now() - started) / 1000) };
}

let queue = Promise.resolve();
process.on("message", (request: FloorRequest) => {
  queue = queue.then(async () => void process.send!(await answer(request)));
});
const units = Object.fromEntries(Object.entries(floors).map(([id, plan]) => [id, plan.units])) as Record<FloorId, number>;
process.send!({ seq: 0, value: units });
