// Runs one autocannon load from a Node process, with the request body read as bytes (the CLI's
// `-i` reads it as UTF-8 text, which corrupts images). Prints autocannon's result as JSON.
// Usage: node bench/autocannon-client.mjs <url> <bodyFile> <contentType> <connections> <seconds>
import autocannon from "autocannon";
import { readFileSync } from "node:fs";

const [url, bodyFile, contentType, connections, seconds] = process.argv.slice(2);
const result = await autocannon({
  url,
  method: "POST",
  headers: { "content-type": contentType },
  body: readFileSync(bodyFile),
  connections: Number(connections),
  duration: Number(seconds),
});
process.stdout.write(JSON.stringify(result));
