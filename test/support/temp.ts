import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const created: string[] = [];

/** A fresh empty folder under the OS temp dir, removed when the test run ends (`removeTempDirs`). */
export function tempDir(prefix = "immich-ml-test-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  created.push(dir);
  return dir;
}

/**
 * Removes every folder `tempDir` made. `bun test` fires no process "exit" handlers, so under it
 * this runs once after all test files (test/setup.ts); the helper scripts tests spawn as plain
 * processes (test/support/offline-session.ts) are cleaned up by the handler below.
 */
export function removeTempDirs(): void {
  for (const dir of created.splice(0)) rmSync(dir, { recursive: true, force: true });
}

process.on("exit", removeTempDirs);
