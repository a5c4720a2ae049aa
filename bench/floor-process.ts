/**
 * The floor's own process, started by FloorProcess at the priority the service gives its
 * inference threads (nice +10), so that a busy machine slows the floor and the service alike and
 * the orchestrator's HTTP client never shares a thread with it. Builds every floor plan, then
 * answers `once` (one plan run, its milliseconds) and `rate` (plans per second, back to back).
 *
 *   bun bench/floor-process.ts <cache JSON> <session settings JSON>   (over Bun IPC)
 */
import type { BenchCache } from "./cache.ts";
import { RawSessions } from "./floor-plans.ts";
import { buildFloors, type FloorId } from "./scenarios.ts";
import type { SessionSettings } from "../src/runtime/onnx-session.ts";
import type { FloorReply, FloorRequest } from "./floor-client.ts";

const cache = JSON.parse(process.argv[2]!) as BenchCache;
const sessions = new RawSessions(JSON.parse(process.argv[3]!) as SessionSettings);
const floors = await buildFloors(cache, sessions);

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
