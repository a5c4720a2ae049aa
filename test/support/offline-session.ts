/**
 * Run inside a network namespace holding nothing but loopback (test/cli/air-gapped.test.ts):
 * serves the cache folder given as argument with HF_HUB_OFFLINE=1, asks a CLIP text query and a
 * CLIP image, and prints one JSON line: the statuses, the interfaces this namespace has, how many
 * connections reached the download URLs (all pointed at a local tripwire), and, where strace is
 * installed, every connect() the server made to an address other than loopback.
 */
import { readFileSync } from "node:fs";
import { networkInterfaces } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { repoRoot } from "./fixtures.ts";
import { tempDir } from "./temp.ts";
import { waitUntil } from "./wait-until.ts";

const cache = process.argv[2]!;
let tripwireConnections = 0;
const tripwire = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { open: () => void tripwireConnections++, data() {} } });
const tripwireUrl = `http://127.0.0.1:${tripwire.port}`;
const probe = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
const port = probe.port;
probe.stop(true);

const strace = Bun.which("strace");
const work = tempDir();
const trace = join(work, "connect.trace");
const pidFile = join(work, "server.pid");
// Through a shell that records its pid and execs the server: the pid to stop is the server's, not strace's.
const command = ["/bin/sh", "-c", 'echo $$ > "$0" && exec "$@"', pidFile, process.execPath, join(repoRoot, "src/main.ts"), "serve"];
const server = Bun.spawn(strace ? [strace, "-f", "-qq", "-e", "trace=connect", "-o", trace, ...command] : command, {
  env: {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: tempDir(),
    MACHINE_LEARNING_CACHE_FOLDER: cache,
    HF_HUB_OFFLINE: "1",
    HF_ENDPOINT: tripwireUrl,
    MACHINE_LEARNING_OCR_MODEL_URL: tripwireUrl,
    MACHINE_LEARNING_OCR_TESSDATA_URL: tripwireUrl,
    IMMICH_HOST: "127.0.0.1",
    IMMICH_PORT: String(port),
    IMMICH_LOG_LEVEL: "error",
  },
  stdout: "ignore",
  stderr: "ignore",
});
const url = `http://127.0.0.1:${port}`;
await waitUntil(
  async () =>
    (await fetch(`${url}/ping`).then(
      (r) => r.text(),
      () => "",
    )) === "pong",
  "the server to answer /ping",
  30_000,
);

async function predict(entries: object, part: { text: string } | { image: Blob }): Promise<number> {
  const form = new FormData();
  form.set("entries", JSON.stringify(entries));
  if ("text" in part) form.set("text", part.text);
  else form.set("image", part.image);
  const response = await fetch(`${url}/predict`, { method: "POST", body: form });
  await response.arrayBuffer();
  return response.status;
}

const jpeg = await sharp({ create: { width: 64, height: 64, channels: 3, background: "#336699" } })
  .jpeg()
  .toBuffer();
const text = await predict({ clip: { textual: { modelName: "ViT-B-32__openai" } } }, { text: "a photo of a cat" });
const image = await predict({ clip: { visual: { modelName: "ViT-B-32__openai" } } }, { image: new Blob([jpeg]) });
process.kill(Number(readFileSync(pidFile, "utf8")), "SIGTERM");
await server.exited;
tripwire.stop(true);

/** connect() calls to an IPv4/IPv6 address that is not loopback (AF_UNIX and netlink are local). */
function outboundConnects(): string[] | null {
  if (!strace) return null;
  return readFileSync(trace, "utf8")
    .split("\n")
    .filter((line) => /connect\(.*sa_family=AF_INET6?\b/.test(line))
    .filter((line) => !/inet_addr\("127\.|inet_pton\(AF_INET6, "::1"|inet_pton\(AF_INET6, "::ffff:127\./.test(line));
}

console.log(JSON.stringify({ text, image, interfaces: Object.keys(networkInterfaces()), tripwireConnections, outboundConnects: outboundConnects() }));
process.exit(0);
