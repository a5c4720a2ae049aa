/**
 * Run as its own process by test/runtime/shared-arena.test.ts, so that its resident memory is the
 * runtime's alone: two sessions of `activationHeavyModel` (paths in argv) created at once on two
 * inference threads, each run in turn, then the idle trim and the releases. Prints the
 * process's RSS (MB) after each step as one JSON object.
 */
import { readFileSync } from "node:fs";
import { InferenceThreads, OnnxSession } from "../../src/runtime/onnx-session.ts";

const [pathA, pathB] = process.argv.slice(2) as [string, string];
const SIDE = 768;

function rssMb(): number {
  Bun.gc(true);
  const pages = Number(readFileSync("/proc/self/statm", "utf8").split(" ")[1]);
  return (pages * 4096) / 2 ** 20;
}

const feed = () => ({ x: { type: "float32" as const, data: new Float32Array(SIDE * SIDE).fill(0.5), dims: [1, 1, SIDE, SIDE] } });

const threads = new InferenceThreads();
const settings = { inferenceThreads: 2, intraOpThreads: 1, interOpThreads: 1, arena: true, deviceId: "0" };
const [a, b] = await Promise.all([OnnxSession.create(threads, pathA, settings), OnnxSession.create(threads, pathB, settings)]);
const rss: Record<string, number> = { threads: threads.count, created: rssMb() };
await a.run(feed());
rss.afterA = rssMb();
await b.run(feed());
rss.afterB = rssMb();
await threads.trimArena();
rss.afterTrim = rssMb();
await a.run(feed());
rss.afterA2 = rssMb();
await a.release();
rss.afterReleaseA = rssMb();
await b.release();
console.log(JSON.stringify(rss));
