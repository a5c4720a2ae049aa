// Runs one autocannon load from a Node process, with request bodies read as bytes (the CLI's `-i`
// reads them as UTF-8 text, which corrupts images). Each connection cycles through the requests
// in order (one request: the same one again and again). Prints JSON: every 2xx latency (ms, not
// rounded), the steady-state completion rate, the seconds the load ran, non-2xx and error counts.
// Usage: node bench/autocannon-client.mjs <specFile>
//   spec: { url, connections, seconds, requests: [{ bodyFile, contentType }] }
import autocannon from "autocannon";
import { readFileSync } from "node:fs";

const spec = JSON.parse(readFileSync(process.argv[2], "utf8"));
const latencies = [];
const completions = [];
const started = performance.now();
const instance = autocannon({
  url: spec.url,
  connections: spec.connections,
  duration: spec.seconds,
  requests: spec.requests.map((r) => ({ method: "POST", headers: { "content-type": r.contentType }, body: readFileSync(r.bodyFile) })),
});
instance.on("response", (_client, statusCode, _bytes, responseTime) => {
  if (statusCode >= 200 && statusCode < 300) {
    latencies.push(responseTime);
    completions.push(performance.now());
  }
});
const result = await instance;
const elapsedSeconds = (performance.now() - started) / 1000;
// Completions per second between the first and the last one: no ramp-up, no cut-off requests.
const span = (completions.at(-1) - completions[0]) / 1000;
process.stdout.write(
  JSON.stringify({
    latencies,
    completed: completions.length,
    requestsPerSecond: completions.length > 1 ? (completions.length - 1) / span : 0,
    elapsedSeconds,
    non2xx: result.non2xx,
    errors: result.errors,
  }),
);
