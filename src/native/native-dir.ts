/**
 * Where a compiled executable extracts its native libraries: `$IMMICH_ML_NATIVE_DIR`, else the
 * user's cache folder (`$XDG_CACHE_HOME` or `~/.cache`; `~/Library/Caches` on macOS) under
 * `immich-ml/native`, in a sub-folder named after the platform and a hash of the embedded files.
 * Embedded names carry content hashes, so a release with other libraries gets a new folder and
 * never overwrites files another running version has mapped.
 */
import { homedir } from "node:os";
import { basename, isAbsolute, join, resolve } from "node:path";
import type { NativeTarget } from "./native-target.ts";

export const NATIVE_DIR_VARIABLE = "IMMICH_ML_NATIVE_DIR";

function nativeRoot(env: Record<string, string | undefined>): string {
  const override = env[NATIVE_DIR_VARIABLE]?.trim();
  if (override) return resolve(override);
  if (process.platform === "darwin") return join(homedir(), "Library", "Caches", "immich-ml", "native");
  const xdg = env.XDG_CACHE_HOME?.trim();
  // The XDG spec says a relative value is to be ignored.
  const cache = xdg && isAbsolute(xdg) ? xdg : join(homedir(), ".cache");
  return join(cache, "immich-ml", "native");
}

export function nativeDirectory(target: NativeTarget, env: Record<string, string | undefined> = process.env): string {
  const names = [...Object.values(target.files), ...Object.values(target.data)].map((path) => basename(path)).sort();
  return join(nativeRoot(env), `${target.name}-${Bun.hash(names.join("\n")).toString(36)}`);
}
