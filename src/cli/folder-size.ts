/** Bytes of the files under a folder (symbolic links are not followed); 0 when it does not exist. */
import { lstatSync, readdirSync } from "node:fs";
import { join } from "node:path";

export function folderSize(dir: string): number {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  let total = 0;
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) total += folderSize(path);
    else if (entry.isFile()) total += lstatSync(path).size;
  }
  return total;
}
