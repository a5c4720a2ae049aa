/**
 * A fresh clone installs where only the npm registry is reachable: onnxruntime-node's install
 * script must not reach for NuGet, and `npm ci` needs an entry in the lock for every optional
 * per-platform package (npm refuses the lock otherwise, even for platforms it will not install).
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "../support/fixtures.ts";

interface LockPackage {
  optionalDependencies?: Record<string, string>;
}

describe("install on a restricted network", () => {
  test("npm hands onnxruntime-node's install script the project's skip flag, and the script then exits at once without the network", async () => {
    const npmEnv = Bun.spawnSync(["npm", "run", "env"], { cwd: repoRoot, env: { ...process.env, npm_config_onnxruntime_node_install: undefined } });
    const flag = npmEnv.stdout
      .toString()
      .split("\n")
      .find((line) => line.startsWith("npm_config_onnxruntime_node_install="));
    expect(flag).toBe("npm_config_onnxruntime_node_install=skip");

    // The script itself, with that flag and proxies pointing nowhere: a download attempt would fail.
    const install = Bun.spawn(["node", join(repoRoot, "node_modules/onnxruntime-node/script/install.js")], {
      cwd: join(repoRoot, "node_modules/onnxruntime-node"),
      env: {
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        npm_config_onnxruntime_node_install: "skip",
        HTTPS_PROXY: "http://127.0.0.1:9",
        GLOBAL_AGENT_HTTPS_PROXY: "http://127.0.0.1:9",
      },
      stdout: "pipe",
      stderr: "pipe",
    });
    expect(await install.exited).toBe(0);
    expect(await new Response(install.stdout).text()).not.toContain("Downloading");
  });

  test("the lock file lists every optional dependency of every locked package (npm ci needs them all)", () => {
    const lock = JSON.parse(readFileSync(join(repoRoot, "package-lock.json"), "utf8")) as { packages: Record<string, LockPackage> };
    const missing: string[] = [];
    for (const [path, entry] of Object.entries(lock.packages)) {
      for (const name of Object.keys(entry.optionalDependencies ?? {})) {
        // npm resolves a dependency next to its dependant first, then at the top level.
        const nested = path === "" ? `node_modules/${name}` : `${path}/node_modules/${name}`;
        if (!lock.packages[nested] && !lock.packages[`node_modules/${name}`]) missing.push(`${name} (for ${path || "the project"})`);
      }
    }
    expect(missing).toEqual([]);
  });
});
