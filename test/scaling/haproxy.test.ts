/**
 * Three instances behind Debian's HAProxy on loopback, running deploy/haproxy/haproxy.cfg (only
 * the bind address, check interval and server lines replaced), health-checked on /ready:
 * load spreads, a drained instance (SIGTERM) loses no request, and what `kill -9` of another
 * under load loses is counted. Any non-2xx the Immich server would see demotes its ML URL, so
 * every non-200 counts as lost. Skipped with a message when haproxy is not installed.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "../support/fixtures.ts";
import type { ServeProcess } from "../support/server-process.ts";
import { tempDir } from "../support/temp.ts";
import { predict } from "../support/test-server.ts";
import { waitUntil } from "../support/wait-until.ts";
import { runLoad } from "./load.ts";
import { answeredCount, closedPortUrl, startPeers, TEXT_ENTRIES } from "./peers.ts";

const sharp: typeof import("sharp").default = require("sharp");
const haproxyBinary = Bun.which("haproxy") ?? ["/usr/sbin/haproxy", "/usr/local/sbin/haproxy"].find((path) => existsSync(path));
if (!haproxyBinary) console.warn("[haproxy] haproxy is not installed: the load-balancer tests are skipped (.ci/run installs it)");

const DRAIN_DELAY_S = 1.5;
const CHECK_INTERVAL = "100ms";
const IMAGE_ENTRIES = { clip: { visual: { modelName: TEXT_ENTRIES.clip.textual.modelName } } };

/** The shipped configuration, pointed at these instances, plus a CSV stats page to see server states. */
function haproxyConfig(bind: string, servers: string[], statsBind: string): string {
  const shipped = readFileSync(join(repoRoot, "deploy/haproxy/haproxy.cfg"), "utf8");
  const lines = shipped.split("\n").filter((line) => !/^\s*server /.test(line));
  const config = lines
    .join("\n")
    .replace(/^(\s*)bind .*$/m, `$1bind ${bind}`)
    .replace(/inter \S+/, `inter ${CHECK_INTERVAL}`);
  const serverLines = servers.map((address, i) => `    server ml${i + 1} ${address} check`).join("\n");
  return `${config.trimEnd()}\n${serverLines}\n\nfrontend stats\n    bind ${statsBind}\n    stats enable\n    stats uri /stats\n`;
}

const hostPort = (url: string) => url.replace("http://", "");

describe.skipIf(!haproxyBinary)("three instances behind HAProxy", () => {
  let instances: ServeProcess[];
  let haproxy: ReturnType<typeof Bun.spawn>;
  let balancer: string;
  let stats: string;
  let jpeg: Uint8Array;

  const statsRows = async () => {
    const [header, ...rows] = (await (await fetch(`${stats}/stats;csv`)).text()).split("\n");
    const columns = header!.replace(/^# /, "").split(",");
    return rows
      .filter((row) => row.startsWith("immich_ml_instances,"))
      .map((row) => {
        const cells = row.split(",");
        return Object.fromEntries(columns.map((name, i) => [name, cells[i] ?? ""]));
      });
  };
  /** HAProxy's view of each server: UP, DOWN, MAINT… */
  const serverStates = async () => (await statsRows()).filter((row) => row.svname!.startsWith("ml")).map((row) => row.status!);
  /** Requests HAProxy sent again (same server) and sent elsewhere, over the backend's life. */
  const replays = async () => {
    const backend = (await statsRows()).find((row) => row.svname === "BACKEND")!;
    return { retries: Number(backend.wretr), redispatches: Number(backend.wredis) };
  };

  beforeAll(async () => {
    const model = TEXT_ENTRIES.clip.textual.modelName;
    // Preloaded: each instance stays out of rotation (/ready 503) until its models are loaded.
    // TMPDIR: the instance killed with -9 below cannot remove its HTTP socket's folder; in ours it goes at the end.
    instances = await startPeers(3, { MACHINE_LEARNING_DRAIN_DELAY_S: String(DRAIN_DELAY_S), MACHINE_LEARNING_PRELOAD__CLIP: model, TMPDIR: tempDir() });
    balancer = closedPortUrl();
    stats = closedPortUrl();
    const folder = tempDir();
    writeFileSync(
      join(folder, "haproxy.cfg"),
      haproxyConfig(
        hostPort(balancer),
        instances.map((instance) => hostPort(instance.url)),
        hostPort(stats),
      ),
    );
    haproxy = Bun.spawn([haproxyBinary!, "-db", "-f", join(folder, "haproxy.cfg")], { stdout: "ignore", stderr: "pipe" });
    await waitUntil(async () => (await serverStates().catch(() => [])).join() === "UP,UP,UP", "HAProxy to see the three instances up", 15_000);
    // A small thumbnail: an image request that fits HAProxy's buffer and can be replayed.
    jpeg = new Uint8Array(
      await sharp({ create: { width: 160, height: 120, channels: 3, background: { r: 90, g: 160, b: 40 } } })
        .jpeg()
        .toBuffer(),
    );
  });

  afterAll(async () => {
    haproxy?.kill();
    await haproxy?.exited;
    await Promise.all((instances ?? []).map((instance) => instance.stop()));
  });

  /** Search queries and thumbnails, as the Immich server mixes them. */
  const send = (i: number) => (i % 4 === 3 ? predict(balancer, IMAGE_ENTRIES, { image: jpeg }) : predict(balancer, TEXT_ENTRIES, { text: `query ${i}` }));

  test("300 requests spread over the three instances, each at least 25 %", async () => {
    const before = await Promise.all(instances.map((instance) => answeredCount(instance.url)));
    // Liveness under that load, straight to one instance: the chart's probe allows 1 s.
    const pingMs: number[] = [];
    const timePing = async () => {
      const started = performance.now();
      await (await fetch(`${instances[0]!.url}/ping`)).text();
      pingMs.push(performance.now() - started);
    };
    const pings: Array<Promise<void>> = [];
    const result = await runLoad(
      300,
      6,
      (i) => predict(balancer, TEXT_ENTRIES, { text: `query ${i}` }),
      (done) => {
        if (done % 10 === 0) pings.push(timePing());
      },
    );
    await Promise.all(pings);
    expect(result.failed).toBe(0);
    pingMs.sort((a, b) => a - b);
    console.log(`/ping during that load: median ${pingMs[pingMs.length >> 1]!.toFixed(1)} ms, max ${pingMs.at(-1)!.toFixed(1)} ms (${pingMs.length} samples)`);
    expect(pingMs.at(-1)!).toBeLessThan(1000);
    const after = await Promise.all(instances.map((instance) => answeredCount(instance.url)));
    const shares = after.map((count, i) => count - before[i]!);
    console.log(`haproxy distribution of 300 requests: ${shares.join(" / ")}`);
    expect(shares.reduce((a, b) => a + b)).toBe(300);
    for (const share of shares) expect(share).toBeGreaterThanOrEqual(75);
  });

  test("SIGTERM of one instance under load: HAProxy sees /ready turn 503 and stops sending before the listener closes, the instance exits, no request fails", async () => {
    const draining = instances[1]!;
    const pings: number[] = [];
    const replaysBefore = await replays();
    const result = await runLoad(300, 6, send, (done) => {
      if (done === 60) process.kill(draining.pid, "SIGTERM");
      if (done % 20 === 0)
        void fetch(`${balancer}/ping`).then(
          (r) => pings.push(r.status),
          () => pings.push(0),
        );
    });
    const replaysAfter = await replays();
    const replayed = replaysAfter.retries - replaysBefore.retries + replaysAfter.redispatches - replaysBefore.redispatches;
    console.log(`haproxy drain (SIGTERM under load): ${result.failed} of 300 failed ${JSON.stringify([...result.statuses])}, ${replayed} replayed`);
    expect(result.failed).toBe(0);
    // HAProxy took the instance out on /ready before its listener closed: nothing needed a replay.
    expect(replayed).toBe(0);
    expect(pings.every((status) => status === 200)).toBe(true);
    await waitUntil(async () => (await serverStates())[1] === "DOWN", "HAProxy to take the drained instance out", 2_000);
    // The drained instance closes once its delay is over.
    await waitUntil(
      () =>
        fetch(`${draining.url}/ping`).then(
          () => false,
          () => true,
        ),
      "the drained instance to close its listener",
      3_000,
    );
  });

  test("kill -9 of another instance under load: requests it held are replayed elsewhere; the last one answers everything", async () => {
    const killed = instances[0]!;
    const survivor = instances[2]!;
    const before = await answeredCount(survivor.url);
    const replaysBefore = await replays();
    const result = await runLoad(300, 6, send, (done) => {
      if (done === 60) process.kill(killed.pid, "SIGKILL");
    });
    const replaysAfter = await replays();
    const replayed = { retries: replaysAfter.retries - replaysBefore.retries, redispatches: replaysAfter.redispatches - replaysBefore.redispatches };
    console.log(
      `haproxy kill -9 under load: ${result.failed} of 300 failed ${JSON.stringify([...result.statuses])}, HAProxy replayed ${JSON.stringify(replayed)}`,
    );
    expect(result.failed).toBe(0);
    // The kill did land mid-load: HAProxy had to send requests again.
    expect(replayed.retries + replayed.redispatches).toBeGreaterThan(0);
    // HAProxy marks a server down after two failed checks (`fall 2`, 100 ms apart here); a load
    // that ends sooner after the kill than that finds it still "UP 1/2".
    await waitUntil(async () => (await serverStates())[0] === "DOWN", "HAProxy to take the killed instance out", 2_000);
    expect(await serverStates()).toEqual(["DOWN", "DOWN", "UP"]);
    expect(await answeredCount(survivor.url)).toBeGreaterThanOrEqual(before + 240 * 0.75);
  });
});
