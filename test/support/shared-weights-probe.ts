/**
 * Child process of test/runtime/sequence-variants.test.ts: the anonymous memory growth of creating and running
 * three shorter sessions of the mapped tower at argv[2], beside its full session, either on shared
 * weights (argv[3] "shared", as the service does) or each loading the weights itself ("own").
 */
import { readFileSync } from "node:fs";
import { dirname } from "node:path";
import type { SessionSettings } from "../../src/runtime/onnx-session.ts";
import { createNativeSession, type NativeSession, releaseNativeSession, runNativeSession } from "../../src/runtime/ort-capi.ts";
import { shortenSequence } from "../../src/runtime/sequence-length.ts";
import { openWeightSharing, releaseWeightSharing, settleWeightSharing, truncateFeeds } from "../../src/runtime/sequence-variants.ts";

const [path, mode] = process.argv.slice(2) as [string, "shared" | "own"];
const settings: SessionSettings = { inferenceThreads: 1, intraOpThreads: 1, interOpThreads: 1, arena: true, deviceId: "0" };
const CONTEXT = 12;
/**
 * Anonymous memory (RssAnon), where the packed copies live, after a full collection (the JS heap's
 * garbage, the graphs read and rewritten, should not count). Not VmRSS: that also counts the pages
 * of onnxruntime's library and of the weights file that the sessions fault in, which are not what
 * the sessions share (sessions packing their own copies map 12 MB of those).
 */
const anonMb = () => {
  Bun.gc(true);
  return Number(/RssAnon:\s+(\d+)/.exec(readFileSync("/proc/self/status", "utf8"))![1]) / 1024;
};
const ids = new Int32Array(CONTEXT).fill(4095);
ids.set([1, 2, 3, 4095]);
const feeds = { text: { type: "int32" as const, data: ids, dims: [1, CONTEXT] } };

const sharing = mode === "shared" ? openWeightSharing(path) : null;
const options = sharing ? { ...settings, prepackedWeights: sharing.container, sharedInitializers: sharing.weights.initializers } : settings;
const full = createNativeSession(path, options);
runNativeSession(full.handle, full.outputNames, feeds);
if (sharing) settleWeightSharing(sharing);
const graphs = [4, 6, 8].map((length) => ({ length, graph: shortenSequence(readFileSync(path), CONTEXT, length) }));
const before = anonMb();
const variants: NativeSession[] = [];
for (const { length, graph } of graphs) {
  const variant = createNativeSession({ graph, folder: dirname(path) }, options);
  runNativeSession(variant.handle, variant.outputNames, truncateFeeds(feeds, length));
  variants.push(variant);
}
if (sharing) settleWeightSharing(sharing);
const growth = anonMb() - before;
for (const session of [...variants, full]) releaseNativeSession(session.handle);
if (sharing) releaseWeightSharing(sharing);
console.log(JSON.stringify({ growthMb: growth }));
