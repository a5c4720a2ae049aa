/**
 * Native set-up, imported first by every entry point (main and worker thread), before anything
 * loads onnxruntime-node or sharp:
 *  - switches onnxruntime's telemetry off in the C environment;
 *  - in a compiled executable, extracts the embedded addons and their shared libraries once
 *    (see native-dir.ts, extract.ts) and removes the folders older releases left (prune.ts);
 *    data files wait for their first use (`embeddedPath`). `scripts/build.ts` rewrites the
 *    packages' own `require("….node")` calls into `loadAddon(…)`, which dlopens the extracted copies.
 * From source `#native-target` is an empty map: nothing is extracted and the packages load their
 * addons from node_modules.
 */
import { join } from "node:path";
import { nativeTarget } from "#native-target";
import type { AddonName } from "./native-target.ts";
import { disableOrtTelemetry } from "./ort-telemetry.ts";
import { NATIVE_DIR_VARIABLE, nativeDirectory } from "./native-dir.ts";
import { extractFiles } from "./extract.ts";
import { markNativeFolder, pruneOtherNativeFolders } from "./prune.ts";
import { isMainThread } from "node:worker_threads";

const HINT = `set ${NATIVE_DIR_VARIABLE} to a writable folder on a filesystem that allows executables`;

/** Set-up failures end the process with one line: there is nothing to serve without the addons. */
function fail(message: string): never {
  console.error(`immich-ml: ${message}`);
  process.exit(1);
}

function errorText(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split("\n")[0]!;
}

function prepare(): string | undefined {
  if (Object.keys(nativeTarget.files).length === 0) return undefined;
  const dir = nativeDirectory(nativeTarget);
  try {
    extractFiles(nativeTarget.files, dir);
  } catch (error) {
    fail(`cannot write native libraries to ${dir} (${errorText(error)}); ${HINT}`);
  }
  // Once per process (worker threads run this file too).
  if (isMainThread) {
    try {
      markNativeFolder(dir);
    } catch {
      // Extraction just wrote to this folder; a marker that cannot be touched only delays pruning.
    }
    pruneOtherNativeFolders(dir, nativeTarget.name);
  }
  return dir;
}

disableOrtTelemetry();

/** Folder the native libraries were extracted to; undefined when running from source. */
export const nativeDir = prepare();

/**
 * An embedded data file (e.g. `tessdata/eng.traineddata.gz`) as a real file, extracted on this first
 * call; undefined when running from source, where callers read it from its package in node_modules.
 * Throws (the request that needs it fails, the service stays up) when it cannot be written.
 */
export function embeddedPath(file: string): string | undefined {
  const embedded = nativeTarget.data[file];
  if (nativeDir === undefined || embedded === undefined) return undefined;
  try {
    extractFiles({ [file]: embedded }, nativeDir);
  } catch (error) {
    throw new Error(`cannot write ${file} to ${nativeDir} (${errorText(error)}); ${HINT}`);
  }
  return join(nativeDir, file);
}

/** Loads an embedded addon from the extraction folder (called by the rewritten package code). */
export function loadAddon(name: AddonName): unknown {
  const file = nativeTarget.addons[name];
  if (!nativeDir || !file) fail(`this build has no ${name} addon for ${nativeTarget.name}`);
  const module = { exports: {} };
  const path = join(nativeDir, file);
  try {
    process.dlopen(module, path);
  } catch (error) {
    const text = errorText(error);
    if (/failed to map segment/i.test(text)) fail(`${nativeDir} is on a filesystem mounted noexec; ${HINT}`);
    fail(`cannot load ${path}: ${text}`);
  }
  return module.exports;
}
