/**
 * Where `npm run parity` (scripts/parity.sh) leaves the reference libraries' live outputs. Tests
 * that compare against them skip with a message when they are absent (a fresh clone, or no
 * reference venv); the committed goldens under test/golden keep guarding parity then.
 */
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe } from "bun:test";
import { repoRoot } from "../support/fixtures.ts";

// Absolute: tests link model folders from it into temporary caches.
export const parityCacheDir = resolve(process.env.IMMICH_ML_PARITY_DIR ?? join(repoRoot, ".cache", "parity"));

/** `describe` when `relativePath` exists in the parity cache, else a skip that says how to get it. */
export function describeWithLiveReference(name: string, relativePath: string, body: (path: string) => void): void {
  const path = join(parityCacheDir, relativePath);
  if (existsSync(path)) {
    describe(name, () => body(path));
    return;
  }
  console.warn(`[parity] ${path} is absent: "${name}" is skipped (run \`npm run parity\` to produce it)`);
  describe.skip(name, () => body(path));
}
