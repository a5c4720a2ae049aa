/**
 * The honest floor: what a user gets from onnxruntime without us. A plain process (run under Node
 * or Bun, nice 0, no allocator settings in its environment) that opens each model with
 * onnxruntime's default session options, changing only the intra-op/inter-op thread counts to
 * those the service gives its sessions, and decodes each request's photo with sharp to raw RGB.
 * Plain JavaScript that imports nothing of the project, so both runtimes run the same file.
 *
 *   node|bun bench/plain-floor.mjs <plan folder (bench/plan-files.ts)> <intra-op threads> <inter-op threads>
 *     <intra-op threads of the sessions the service opens as interactive (search queries)>
 *
 * Questions come as JSON lines on stdin, answers go as JSON lines on stdout:
 * - `{seq, op: "once", id}` → `{seq, value: {decodeMs, runMs, steps: [[label, ms], …]}}`: one
 *   request's decodes, then its runs one after the other;
 * - `{seq, op: "decode", id}` → `{seq, value: milliseconds}`: one request's decodes alone;
 * - `{seq, op: "rate", id, seconds}` → `{seq, value: requests per second}`, decode + runs back to back;
 * - `{seq, op: "part", id, label, part, parts}` → `{seq, value: milliseconds}`: the runs of the
 *   request's `label` steps on share `part` of `parts` of each one's batch (its inputs' first axis),
 *   split as the service splits a lone request's batch among its idle inference threads. The
 *   orchestrator asks its processes for the shares at once (each process the next share when
 *   there are more shares than processes), to compare the service's split runs with plain runs
 *   split alike, side by side on the same cores.
 */
import * as ort from "onnxruntime-node";
import sharp from "sharp";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";

const [folder, intra, inter, searchIntra] = process.argv.slice(2);
const sessionOptions = (interactive) => ({ intraOpNumThreads: Number(interactive ? searchIntra : intra), interOpNumThreads: Number(inter) });
const plans = JSON.parse(readFileSync(join(folder, "plans.json"), "utf8"));

const bytes = new Map();
const fileBytes = (file) => {
  if (!bytes.has(file)) bytes.set(file, readFileSync(join(folder, file)));
  return bytes.get(file);
};
const ARRAYS = { float32: Float32Array, int32: Int32Array, int64: BigInt64Array, uint8: Uint8Array };
function tensor({ type, dims, file }) {
  const raw = fileBytes(file);
  const copy = raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength);
  return new ort.Tensor(type, new ARRAYS[type](copy), dims);
}

/**
 * With more than one intra-op thread, onnxruntime's default options let the pool's threads spin
 * for about 40 ms after each run (measured: a 2-thread CLIP text session, 38-44 ms of CPU in the
 * 200 ms after its run). A single request's answer waits this long more, so that the spin does
 * not land in the service's next request on the same cores; its timings are taken before.
 */
const SPIN_SETTLE_MS = 60;

const sessions = new Map();
for (const plan of Object.values(plans)) {
  for (const step of plan.steps) {
    const options = sessionOptions(step.interactive);
    step.key = `${step.model}:${step.interactive === true}`;
    plan.spins ||= options.intraOpNumThreads > 1;
    if (!sessions.has(step.key)) sessions.set(step.key, await ort.InferenceSession.create(step.model, options));
    step.tensors = Object.fromEntries(Object.entries(step.feeds).map(([name, feed]) => [name, tensor(feed)]));
  }
}

const decode = (file) => sharp(fileBytes(file)).removeAlpha().raw().toBuffer();

/** Milliseconds to decode the request's photos; exactly 0 for a request without one (a text query). */
async function decodeAll(plan) {
  if (plan.images.length === 0) return 0;
  const started = performance.now();
  for (const image of plan.images) await decode(image);
  return performance.now() - started;
}

async function once(plan) {
  const decodeMs = await decodeAll(plan);
  const steps = [];
  const started = performance.now();
  for (const step of plan.steps) {
    const stepStarted = performance.now();
    await sessions.get(step.key).run(step.tensors);
    steps.push([step.label, performance.now() - stepStarted]);
  }
  return { decodeMs, runMs: performance.now() - started, steps };
}

/**
 * Rows [start, start + count) of share `part` of `parts`: as equal as can be, larger shares first
 * (5 rows in 2: 3 + 2). The rule of the service's batch sharing (src/runtime/batch-buckets.ts
 * `threadShares`), restated here because this file imports nothing of the project.
 */
function share(rows, part, parts) {
  const base = Math.floor(rows / parts);
  const extra = rows % parts;
  return { start: part * base + Math.min(part, extra), count: base + (part < extra ? 1 : 0) };
}

/** Each feed's rows of the share along its first axis (views: the data is not copied). */
function shareOf(tensors, part, parts) {
  return Object.fromEntries(
    Object.entries(tensors).map(([name, t]) => {
      const { start, count } = share(t.dims[0], part, parts);
      const rowValues = t.data.length / t.dims[0];
      return [name, new ort.Tensor(t.type, t.data.subarray(start * rowValues, (start + count) * rowValues), [count, ...t.dims.slice(1)])];
    }),
  );
}

async function part(plan, label, index, parts) {
  const started = performance.now();
  for (const step of plan.steps.filter((s) => s.label === label)) await sessions.get(step.key).run(shareOf(step.tensors, index, parts));
  return performance.now() - started;
}

async function rate(plan, seconds) {
  const started = performance.now();
  const end = started + seconds * 1000;
  let done = 0;
  while (performance.now() < end) {
    await once(plan);
    done++;
  }
  return done / ((performance.now() - started) / 1000);
}

let queue = Promise.resolve();
createInterface({ input: process.stdin }).on("line", (line) => {
  const question = JSON.parse(line);
  queue = queue.then(async () => {
    const plan = plans[question.id];
    const answers = {
      once: () => once(plan),
      decode: () => decodeAll(plan),
      rate: () => rate(plan, question.seconds),
      part: () => part(plan, question.label, question.part, question.parts),
    };
    const value = await answers[question.op]();
    if (question.op === "once" && plan.spins) await new Promise((settled) => setTimeout(settled, SPIN_SETTLE_MS));
    process.stdout.write(`${JSON.stringify({ seq: question.seq, value })}\n`);
  });
});
process.stdout.write(`${JSON.stringify({ seq: 0, value: "ready" })}\n`);
