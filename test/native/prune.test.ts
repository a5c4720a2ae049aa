/** Removal of the extraction folders older releases left beside the current one (src/native/prune.ts). */
import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, statSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { markNativeFolder, NATIVE_FOLDER_MARKER, pruneOtherNativeFolders } from "../../src/native/prune.ts";
import { tempDir } from "../support/temp.ts";

const HOUR = 60 * 60 * 1000;

describe("pruneOtherNativeFolders", () => {
  test("removes marked same-platform release folders not started from for a day, and nothing else", () => {
    const root = tempDir();
    const now = Date.now();
    const folder = (name: string, lastStartAgoMs: number | undefined) => {
      const path = join(root, name);
      mkdirSync(path);
      writeFileSync(join(path, "libonnxruntime.so.1"), "x");
      if (lastStartAgoMs !== undefined) {
        const at = new Date(now - lastStartAgoMs);
        writeFileSync(join(path, NATIVE_FOLDER_MARKER), "");
        utimesSync(join(path, NATIVE_FOLDER_MARKER), at, at);
      }
      return path;
    };
    const current = folder("linux-x64-1a2b3c", 30 * 24 * HOUR);
    const old = folder("linux-x64-zz9y8x", 2 * 24 * HOUR);
    const recent = folder("linux-x64-0f0f0f", HOUR);
    const otherPlatform = folder("linux-arm64-abc123", 10 * 24 * HOUR);
    const unmarked = folder("linux-x64-backup", undefined); // a user's folder that merely looks like ours
    const unrelated = folder("models", 10 * 24 * HOUR);
    writeFileSync(join(root, "linux-x64-deadbe"), "a file, not a release folder");
    symlinkSync(old, join(root, "linux-x64-link99"));

    expect(pruneOtherNativeFolders(current, "linux-x64", now)).toEqual([old]);
    for (const kept of [current, recent, otherPlatform, unmarked, unrelated, join(root, "linux-x64-deadbe")]) expect(existsSync(kept)).toBe(true);
    expect(existsSync(old)).toBe(false);
  });

  test("every start touches its folder's marker", () => {
    const folder = tempDir();
    markNativeFolder(folder);
    const first = statSync(join(folder, NATIVE_FOLDER_MARKER)).mtimeMs;
    const past = new Date(Date.now() - 5 * 24 * HOUR);
    utimesSync(join(folder, NATIVE_FOLDER_MARKER), past, past);
    markNativeFolder(folder);
    expect(statSync(join(folder, NATIVE_FOLDER_MARKER)).mtimeMs).toBeGreaterThanOrEqual(first - 1000);
  });

  test("a root it cannot read is left alone without an error", () => {
    expect(pruneOtherNativeFolders(join(tempDir(), "missing", "linux-x64-1a2b3c"), "linux-x64")).toEqual([]);
  });
});
