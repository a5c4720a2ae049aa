/**
 * Child process of test/runtime/mapped-weights.test.ts: the RSS growth of a CPU session of the
 * model at argv[2] (created by the service's path, which maps its weights) and then of a plain
 * session of the copy at argv[3], each after one run; prints both, their outputs and the log.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { setLogLevel, setLogSink } from "../../src/log.ts";
import { createNativeSession, type NativeSession, releaseNativeSession, runNativeSession } from "../../src/runtime/ort-capi.ts";
import { createCpuSession } from "../../src/runtime/session-host.ts";
import { addModel } from "../../src/runtime/tiny-onnx.ts";

const [mappedPath, plainPath] = process.argv.slice(2) as [string, string];
const settings = { inferenceThreads: 1, intraOpThreads: 1, interOpThreads: 1, arena: true, deviceId: "0" };
const lines: string[] = [];
setLogLevel("info");
setLogSink((line) => lines.push(line));

const rssMb = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync("/proc/self/status", "utf8"))![1]) / 1024;
const lookUp = (session: NativeSession) =>
  Array.from(runNativeSession(session.handle, session.outputNames, { ids: { type: "int64", data: BigInt64Array.from([1n, 30_000n]), dims: [2] } })[0]!.data);

/** RSS growth from before the session's creation to after its first run, and that run's output. */
function measure(create: () => NativeSession): { growth: number; output: number[] } {
  const before = rssMb();
  const session = create();
  const output = lookUp(session);
  const growth = rssMb() - before;
  releaseNativeSession(session.handle);
  return { growth, output };
}

// onnxruntime's own start-up (its environment, thread pools, code paged in) is paid before measuring:
// a tiny model's session first.
const warmUpPath = join(dirname(plainPath), "warm-up.onnx");
writeFileSync(warmUpPath, addModel());
releaseNativeSession(createNativeSession(warmUpPath, settings).handle);

// A layout probe the lookup cannot take (its input is int64): the warning names the model it was made for.
const mapped = measure(() => createCpuSession(mappedPath, { ...settings, layoutProbe: [2] }).shared);
const plain = measure(() => createNativeSession(plainPath, settings));
console.log(JSON.stringify({ log: lines, mapped: mapped.output, plain: plain.output, mappedGrowthMb: mapped.growth, plainGrowthMb: plain.growth }));
