/** Removal of the extraction folders older releases left beside the current one (src/native/prune.ts). */
import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pruneOtherNativeFolders } from "../../src/native/prune.ts";
import { tempDir } from "../support/temp.ts";

const HOUR = 60 * 60 * 1000;

describe("pruneOtherNativeFolders", () => {
  test("removes same-platform release folders untouched for a day, and nothing else", () => {
    const root = tempDir();
    const now = Date.now();
    const folder = (name: string, ageMs: number) => {
      const path = join(root, name);
      mkdirSync(path);
      writeFileSync(join(path, "libonnxruntime.so.1"), "x");
      utimesSync(path, new Date(now - ageMs), new Date(now - ageMs));
      return path;
    };
    const current = folder("linux-x64-1a2b3c", 30 * 24 * HOUR);
    const old = folder("linux-x64-zz9y8x", 2 * 24 * HOUR);
    const recent = folder("linux-x64-0f0f0f", HOUR);
    const otherPlatform = folder("linux-arm64-abc123", 10 * 24 * HOUR);
    const notOurs = folder("linux-x64-notes-2024", 10 * 24 * HOUR);
    const unrelated = folder("models", 10 * 24 * HOUR);
    writeFileSync(join(root, "linux-x64-deadbe"), "a file, not a release folder");

    expect(pruneOtherNativeFolders(current, "linux-x64", now)).toEqual([old]);
    for (const kept of [current, recent, otherPlatform, notOurs, unrelated, join(root, "linux-x64-deadbe")]) expect(existsSync(kept)).toBe(true);
    expect(existsSync(old)).toBe(false);
  });

  test("a root it cannot read is left alone without an error", () => {
    expect(pruneOtherNativeFolders(join(tempDir(), "missing", "linux-x64-1a2b3c"), "linux-x64")).toEqual([]);
  });
});
