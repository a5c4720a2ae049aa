#!/usr/bin/env bun
/**
 * Builds the single executable: `bun scripts/build.ts [linux-x64|linux-arm64|darwin-arm64|all]`
 * (default: this machine's platform) → `dist/immich-ml-<target>`.
 *
 * Recipe B of shared/spec/single-binary.md: a plugin turns onnxruntime-node's and sharp's own
 * `require("….node")` into `loadAddon(…)` of src/native/loader.ts, and `#native-target` into the
 * platform's file map (src/native/<platform>.ts), which embeds the addons and their shared
 * libraries. sharp's platform packages and the Bun runtimes are put into the git-ignored vendor/npm
 * folder, copied from node_modules when installed there, else fetched from the npm registry
 * (package.json and the lock file are left alone: npm refuses foreign-platform dependencies).
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join, resolve } from "node:path";
import type { BunPlugin } from "bun";

const ROOT = resolve(import.meta.dir, "..");
const VENDOR = join(ROOT, "vendor", "npm");
const LOADER = join(ROOT, "src", "native", "loader.ts");

/**
 * Every module started as a thread must be an entry point of the executable: any file under src/
 * named `<name>-thread.ts` (started with `new Worker(new URL("./<name>-thread.ts", import.meta.url))`).
 */
function entryPoints(): string[] {
  const threads = [...new Bun.Glob("**/*-thread.ts").scanSync(join(ROOT, "src"))].map((path) => join(ROOT, "src", path));
  const entries = [join(ROOT, "src", "main.ts"), ...threads];
  const names = entries.map((path) => basename(path));
  const clash = names.find((name, i) => names.indexOf(name) !== i);
  // The executable's file system is flat (see `naming` below).
  if (clash) fail(`two entry points are named ${clash}`);
  return entries;
}

interface Target {
  /** File map in src/native/. */
  native: "linux-x64" | "linux-arm64" | "darwin-arm64";
  compile: Bun.Build.CompileTarget;
  /** npm package holding this platform's Bun runtime, at the running Bun's version. */
  runtime: string;
}

const TARGETS: Record<string, Target> = {
  // Baseline: runs on every x86-64 CPU, AVX2 or not (many NAS CPUs lack it). The heavy work is in
  // onnxruntime and libvips, which pick CPU features at run time either way.
  "linux-x64": { native: "linux-x64", compile: "bun-linux-x64-baseline", runtime: "@oven/bun-linux-x64-baseline" },
  "linux-arm64": { native: "linux-arm64", compile: "bun-linux-arm64", runtime: "@oven/bun-linux-aarch64" },
  "darwin-arm64": { native: "darwin-arm64", compile: "bun-darwin-arm64", runtime: "@oven/bun-darwin-aarch64" },
};

function fail(message: string): never {
  console.error(`build: ${message}`);
  process.exit(1);
}

/** Whether `dir` holds `version` of a package, including `file` (npm can leave a package hollow). */
function holds(dir: string, version: string, file: string): boolean {
  const manifest = join(dir, "package.json");
  if (!existsSync(manifest) || !existsSync(join(dir, file))) return false;
  return (JSON.parse(readFileSync(manifest, "utf8")) as { version: string }).version === version;
}

/**
 * Puts `name@version` into vendor/npm/<name>: copied from node_modules when that version is
 * installed there, else fetched with `npm pack` (the only network access of the build).
 */
function vendorPackage(name: string, version: string, file = "package.json"): string {
  const dir = join(VENDOR, name);
  if (holds(dir, version, file)) return dir;
  const staging = `${dir}.${process.pid}.tmp`;
  rmSync(staging, { recursive: true, force: true });
  const installed = join(ROOT, "node_modules", name);
  if (holds(installed, version, file)) {
    cpSync(installed, staging, { recursive: true, dereference: true });
  } else {
    console.log(`fetching ${name}@${version} from the npm registry`);
    const packDir = mkdtempSync(join(tmpdir(), "immich-ml-pack-"));
    const pack = Bun.spawnSync(["npm", "pack", `${name}@${version}`, "--json", "--pack-destination", packDir], { stderr: "pipe" });
    if (!pack.success) fail(`npm pack ${name}@${version} failed: ${pack.stderr.toString().trim()}`);
    const [{ filename }] = JSON.parse(pack.stdout.toString()) as [{ filename: string }];
    mkdirSync(staging, { recursive: true });
    const untar = Bun.spawnSync(["tar", "-xzf", join(packDir, filename), "-C", staging, "--strip-components=1"], { stderr: "pipe" });
    rmSync(packDir, { recursive: true, force: true });
    if (!untar.success) fail(`cannot unpack ${filename}: ${untar.stderr.toString().trim()}`);
  }
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, ".."), { recursive: true });
  renameSync(staging, dir);
  if (!holds(dir, version, file)) fail(`${name}@${version} has no ${file}`);
  return dir;
}

/** sharp's platform package and its libvips, at the versions the installed sharp asks for. */
function vendorSharp(platform: string): void {
  const sharp = JSON.parse(readFileSync(join(ROOT, "node_modules", "sharp", "package.json"), "utf8")) as {
    version: string;
    optionalDependencies: Record<string, string>;
  };
  const libvips = `@img/sharp-libvips-${platform}`;
  const libvipsVersion = sharp.optionalDependencies[libvips];
  if (!libvipsVersion) fail(`sharp ${sharp.version} has no ${libvips} package`);
  vendorPackage(`@img/sharp-${platform}`, sharp.version);
  vendorPackage(libvips, libvipsVersion);
}

/**
 * The Bun runtime the executable is made of: always the npm package's, never the running Bun, so
 * the output does not depend on which flavour (baseline or not) the build machine installed.
 */
function runtimeExecutable(target: Target): string {
  return join(vendorPackage(target.runtime, Bun.version, "bin/bun"), "bin", "bun");
}

/** Where tesseract.js-core 7's minified Emscripten code takes its script folder. */
const WASM_DIRECTORY = 'fa=__dirname+"/"';

/**
 * A module standing for an addon. Its path must not look like a package name: the bundler keys
 * modules by path across namespaces, so a bare `sharp` here would also answer `require("sharp")`.
 */
function addon(name: "ort" | "sharp") {
  return { path: `/immich-ml-native/${name}`, namespace: "addon" };
}

/** Rewrites the packages' addon requires to the loader, and picks the platform's file map. */
function nativeAddons(platform: string): BunPlugin {
  return {
    name: "native-addons",
    setup(build) {
      build.onResolve({ filter: /^#native-target$/ }, () => ({ path: join(ROOT, "src", "native", `${platform}.ts`) }));
      // onnxruntime-node/dist/binding.js: require(`../bin/napi-v6/${platform}/${arch}/onnxruntime_binding.node`)
      build.onResolve({ filter: /\.node$/ }, (args) => (args.importer.includes("/node_modules/onnxruntime-node/") ? addon("ort") : undefined));
      // sharp/dist/sharp.cjs tries `@img/sharp-<platform>/sharp.node` for every platform; other
      // platforms' packages must not be bundled (each would bring its libvips along).
      build.onResolve({ filter: /^@img\/sharp-[a-z0-9-]+\/sharp\.node$/ }, (args) =>
        args.path === `@img/sharp-${platform}/sharp.node` ? addon("sharp") : { path: args.path, namespace: "absent" },
      );
      // msgpackr's optional native addon only speeds up decoding, which the service never does; the
      // bundled copy would look for it in the build machine's node_modules.
      build.onResolve({ filter: /^msgpackr-extract$/ }, (args) => ({ path: args.path, namespace: "absent" }));
      // tesseract.js-core's Emscripten loaders read their .wasm from `__dirname`, which the bundle
      // would fix to the build machine's node_modules: point them at the extracted copy instead.
      build.onLoad({ filter: /\/tesseract\.js-core\/tesseract-core(-simd|-relaxedsimd)?-lstm\.js$/ }, async (args) => {
        const source = await Bun.file(args.path).text();
        const wasm = `tesseract.js-core/${basename(args.path, ".js")}.wasm`;
        const located = `require("node:path").dirname(require(${JSON.stringify(LOADER)}).embeddedPath(${JSON.stringify(wasm)}))`;
        if (!source.includes(WASM_DIRECTORY)) throw new Error(`${args.path} no longer sets ${WASM_DIRECTORY}; update scripts/build.ts`);
        return { loader: "js", contents: source.replace(WASM_DIRECTORY, `fa=${located}+"/"`) };
      });
      build.onLoad({ filter: /.*/, namespace: "addon" }, (args) => ({
        loader: "js",
        contents: `module.exports = require(${JSON.stringify(LOADER)}).loadAddon(${JSON.stringify(basename(args.path))});`,
      }));
      build.onLoad({ filter: /.*/, namespace: "absent" }, (args) => ({
        loader: "js",
        contents: `throw Object.assign(new Error(${JSON.stringify(`not in this build: ${args.path}`)}), { code: "MODULE_NOT_FOUND" });`,
      }));
    },
  };
}

async function buildTarget(name: string, target: Target): Promise<void> {
  const started = performance.now();
  vendorSharp(target.native);
  const executablePath = runtimeExecutable(target);
  const outfile = join(ROOT, "dist", `immich-ml-${name}`);
  const result = await Bun.build({
    entrypoints: entryPoints(),
    compile: {
      target: target.compile,
      outfile,
      executablePath,
      // The service is configured by its environment alone, as upstream's is.
      autoloadDotenv: false,
      autoloadBunfig: false,
    },
    // Threads are started with `new URL("./<entry>.ts", import.meta.url)`, which in the executable is
    // relative to the main module: every entry must sit beside it, not in a sub-folder.
    naming: "[name].[ext]",
    // Parsed at build time: halves start-up (about 190 → 85 ms to the first /ping here) for 5 MiB.
    // JavaScriptCore bytecode is architecture-independent; a mismatch falls back to the source.
    bytecode: true,
    format: "esm",
    plugins: [nativeAddons(target.native)],
  });
  if (!result.success) {
    for (const message of result.logs) console.error(message);
    fail(`${name} failed`);
  }
  const mib = (statSync(outfile).size / 2 ** 20).toFixed(1);
  console.log(`${outfile}: ${mib} MiB in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

const requested = process.argv[2] ?? `${process.platform}-${process.arch}`;
const names = requested === "all" ? Object.keys(TARGETS) : [requested];
for (const name of names) {
  const target = TARGETS[name];
  if (!target) fail(`unknown target '${name}' (expected ${Object.keys(TARGETS).join(", ")} or all)`);
  await buildTarget(name, target);
}
