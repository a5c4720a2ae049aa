/**
 * Removes the extraction folders older releases left next to this one. Each release extracts its
 * native libraries into its own `<platform>-<hash>` folder (native-dir.ts), about 65 MB, so
 * without this every upgrade would leave the previous one behind for good.
 *
 * Only sibling folders of the same platform whose name has exactly that shape, and only once
 * untouched for a day: a version started just before an upgrade may still extract its lazily
 * written data files there (files it has already mapped stay usable after removal anyway).
 */
import { readdirSync, rmSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";

const DAY_MS = 24 * 60 * 60 * 1000;

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
      const stat = statSync(folder);
      if (!stat.isDirectory() || now - stat.mtimeMs < minAgeMs) continue;
      rmSync(folder, { recursive: true, force: true });
      removed.push(folder);
    } catch {
      // In use elsewhere, or not ours to remove: leave it.
    }
  }
  return removed;
}
