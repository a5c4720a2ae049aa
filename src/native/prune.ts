/**
 * Removes the extraction folders older releases left next to this one. Each release extracts its
 * native libraries into its own `<platform>-<hash>` folder (native-dir.ts), about 65 MB, so
 * without this every upgrade would leave the previous one behind for good.
 *
 * A folder is ours only if it carries the marker file every start touches (`markNativeFolder`):
 * IMMICH_ML_NATIVE_DIR may point at a folder holding anything else. It is removed once no process
 * has started from it for a day, so a release started just before an upgrade keeps its own (files
 * it has already mapped stay usable after removal anyway).
 */
import { closeSync, lstatSync, openSync, readdirSync, rmSync, statSync, utimesSync } from "node:fs";
import { basename, dirname, join } from "node:path";

const DAY_MS = 24 * 60 * 60 * 1000;
/** Present in every extraction folder; its modification time is the folder's last start. */
export const NATIVE_FOLDER_MARKER = ".immich-ml-native";

/** Creates or touches the marker of the folder this process extracted to. */
export function markNativeFolder(folder: string): void {
  const marker = join(folder, NATIVE_FOLDER_MARKER);
  closeSync(openSync(marker, "a"));
  const now = new Date();
  utimesSync(marker, now, now);
}

/** Returns the folders it removed. Never throws: a folder it cannot remove is left as it is. */
export function pruneOtherNativeFolders(current: string, platform: string, now = Date.now(), minAgeMs = DAY_MS): string[] {
  const root = dirname(current);
  const shape = new RegExp(`^${platform.replace(/[^a-z0-9]/gi, "\\$&")}-[0-9a-z]+$`);
  const removed: string[] = [];
  let entries: string[];
  try {
    entries = readdirSync(root);
  } catch {
    return removed;
  }
  for (const name of entries) {
    if (name === basename(current) || !shape.test(name)) continue;
    const folder = join(root, name);
    try {
      // Not through a symbolic link, and only folders that carry our marker.
      if (!lstatSync(folder).isDirectory()) continue;
      const lastStart = statSync(join(folder, NATIVE_FOLDER_MARKER)).mtimeMs;
      if (now - lastStart < minAgeMs) continue;
      rmSync(folder, { recursive: true, force: true });
      removed.push(folder);
    } catch {
      // No marker, in use elsewhere, or not ours to remove: leave it.
    }
  }
  return removed;
}
