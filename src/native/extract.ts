/**
 * Writes embedded files into the extraction folder. A file already there with the embedded size is
 * kept (the folder name already pins the content); anything else is written to a temporary name and
 * renamed into place, so a process that has the old file mapped is never disturbed and several
 * processes starting at once cannot see a half-written library.
 */
import { mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { threadId } from "node:worker_threads";

function sizeOnDisk(path: string): number | undefined {
  try {
    return statSync(path).size;
  } catch {
    return undefined;
  }
}

/** Extracts `files` (relative path → embedded path) into `dir`; throws with the failing path. */
export function extractFiles(files: Readonly<Record<string, string>>, dir: string): void {
  for (const [relative, embedded] of Object.entries(files)) {
    const target = join(dir, relative);
    if (sizeOnDisk(target) === Bun.file(embedded).size) continue;
    mkdirSync(dirname(target), { recursive: true });
    const temporary = `${target}.${process.pid}-${threadId}.tmp`;
    try {
      // Only readFileSync and Bun.file can read /$bunfs paths (copyFileSync cannot).
      writeFileSync(temporary, readFileSync(embedded), { mode: 0o755 });
      renameSync(temporary, target);
    } catch (error) {
      rmSync(temporary, { force: true });
      throw error;
    }
  }
}
