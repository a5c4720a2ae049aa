/**
 * The air-gapped install of docs/INSTALL.md: `immich-ml download <model> --cache <dir>` on a
 * connected machine, then the copied folder served with HF_HUB_OFFLINE=1 in a network namespace
 * that has only loopback (`unshare -n`): requests are answered, nothing tries to leave.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { clipRepoFiles } from "../support/clip-cache.ts";
import { startFakeHub, type FakeHub } from "../support/fake-hub.ts";
import { repoRoot } from "../support/fixtures.ts";
import { tempDir } from "../support/temp.ts";

/** `unshare` flags that give a process its own network namespace here (root, else a user namespace), or undefined. */
function isolation(): string[] | undefined {
  const unshare = Bun.which("unshare");
  const ip = Bun.which("ip") ?? (existsSync("/usr/sbin/ip") ? "/usr/sbin/ip" : undefined);
  if (!unshare || !ip) return undefined;
  for (const flags of [["--net"], ["--user", "--map-root-user", "--net"]]) {
    const command = [unshare, ...flags, "/bin/sh", "-c", `${ip} link set lo up && exec "$@"`, "sh"];
    if (Bun.spawnSync([...command, "/bin/true"]).success) return command;
  }
  return undefined;
}

const isolate = isolation();
if (!isolate) console.warn("[air-gapped] no network namespace here (unshare -n, iproute2): the offline serving test is skipped");

let hub: FakeHub;
beforeAll(() => {
  hub = startFakeHub({ "immich-app/ViT-B-32__openai": clipRepoFiles() });
});
afterAll(() => hub.stop());

test.skipIf(!isolate)(
  "download --cache on a connected machine, then serve the copy offline: 200s and not one outbound connection",
  async () => {
    const cache = join(tempDir(), "models");
    const download = Bun.spawn([process.execPath, join(repoRoot, "src/main.ts"), "download", "ViT-B-32__openai", "--cache", cache], {
      env: {
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        HOME: tempDir(),
        HF_ENDPOINT: hub.url,
        MACHINE_LEARNING_CACHE_FOLDER: tempDir(),
        IMMICH_LOG_LEVEL: "error",
      },
      stdout: "pipe",
      stderr: "pipe",
    });
    expect(await download.exited).toBe(0);
    expect(readdirSync(join(cache, "clip/ViT-B-32__openai")).sort()).toEqual(["README.md", "config.json", "textual", "visual"]);

    const session = Bun.spawn([...isolate!, process.execPath, join(repoRoot, "test/support/offline-session.ts"), cache], { stdout: "pipe", stderr: "pipe" });
    const [stdout, stderr, code] = await Promise.all([new Response(session.stdout).text(), new Response(session.stderr).text(), session.exited]);
    expect({ code, stderr: code === 0 ? "" : stderr }).toEqual({ code: 0, stderr: "" });
    const report = JSON.parse(stdout.trim().split("\n").at(-1)!) as {
      text: number;
      image: number;
      interfaces: string[];
      tripwireConnections: number;
      outboundConnects: string[] | null;
    };
    expect(report.interfaces).toEqual(["lo"]);
    expect([report.text, report.image]).toEqual([200, 200]);
    expect(report.tripwireConnections).toBe(0);
    if (report.outboundConnects === null) console.warn("[air-gapped] strace is not installed: connect() calls are not counted");
    else expect(report.outboundConnects).toEqual([]);
  },
  120_000,
);
