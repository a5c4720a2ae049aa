/**
 * Access to the shared real-model fixtures (`../shared/fixtures` beside the repository).
 * Tests that need them use `describeWithFixtures`, which skips with a message when the folder is
 * absent, so a bare clone still runs the core suite.
 */
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe } from "bun:test";

export const repoRoot = resolve(import.meta.dir, "../..");
export const fixturesDir = resolve(repoRoot, "../shared/fixtures");
export const haveFixtures = existsSync(join(fixturesDir, "README.md"));

export function fixturePath(...parts: string[]): string {
  return join(fixturesDir, ...parts);
}

let warned = false;
export function describeWithFixtures(name: string, body: () => void): void {
  if (!haveFixtures && !warned) {
    warned = true;
    console.warn(`[fixtures] ${fixturesDir} is absent: tests that need real models and photos are skipped`);
  }
  (haveFixtures ? describe : describe.skip)(name, body);
}
