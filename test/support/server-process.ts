/**
 * `bun src/main.ts serve` as its own process, the way a user starts it from source, with nothing
 * in its environment but PATH, a fresh HOME and cache, a free port and what the test adds: for
 * tests about the process itself (its environment, name, memory maps).
 */
import { join } from "node:path";
import { repoRoot } from "./fixtures.ts";
import { tempDir } from "./temp.ts";
import { waitUntil } from "./wait-until.ts";

export interface ServeProcess {
  pid: number;
  url: string;
  stop(): Promise<void>;
  /** Everything the server wrote to stderr (its log), complete once it has exited. */
  stderr: Promise<string>;
}

export async function startServeProcess(env: Record<string, string> = {}): Promise<ServeProcess> {
  const probe = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
  const port = probe.port;
  probe.stop(true);
  const child = Bun.spawn([process.execPath, join(repoRoot, "src/main.ts"), "serve"], {
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: tempDir(),
      ORT_DISABLE_TELEMETRY: "1",
      MACHINE_LEARNING_CACHE_FOLDER: tempDir(),
      IMMICH_HOST: "127.0.0.1",
      IMMICH_PORT: String(port),
      IMMICH_LOG_LEVEL: "error",
      ...env,
    },
    stdout: "ignore",
    stderr: "pipe",
  });
  // Read as it comes, so that a chatty server never blocks on a full pipe.
  const stderr = new Response(child.stderr).text();
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    child.kill();
    await child.exited;
  };
  const answers = async () =>
    (await fetch(`${url}/ping`).then(
      (r) => r.text(),
      () => "",
    )) === "pong";
  try {
    await waitUntil(answers, "the server to answer /ping", 10_000);
  } catch (error) {
    await stop();
    throw error;
  }
  return { pid: child.pid, url, stop, stderr };
}
