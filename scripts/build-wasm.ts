#!/usr/bin/env bun
/**
 * Compiles the WebAssembly SIMD kernels: every C file in src/imaging/wasm/ → one module,
 * src/imaging/wasm/resample.wasm, plus resample.wasm.json recording each source's SHA-256 (so a
 * test can tell when the committed module no longer matches its sources; CI has no clang).
 *
 *   bun scripts/build-wasm.ts        (needs clang-14 and lld-14: `apt-get install clang-14 lld-14`)
 */
import { createHash } from "node:crypto";
import { chmodSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

export const WASM_DIR = resolve(import.meta.dir, "..", "src", "imaging", "wasm");
export const CLANG = process.env.CLANG ?? "clang-14";
const FLAGS = ["--target=wasm32", "-O3", "-msimd128", "-nostdlib", "-Wall", "-Wextra", "-Werror"];
// No entry point; memory and __heap_base exported so the loader knows where free memory starts;
// no names section (smaller, and the bytes do not depend on the checkout's path).
const LINK_FLAGS = ["-Wl,--no-entry", "-Wl,--export=__heap_base", "-Wl,--strip-all"];

/** The C sources, sorted so the module's bytes do not depend on directory order. */
export function wasmSources(): string[] {
  return readdirSync(WASM_DIR)
    .filter((name) => name.endsWith(".c"))
    .sort();
}

/** What resample.wasm.json records: each source's SHA-256. */
export function sourceDigests(): Record<string, string> {
  return Object.fromEntries(
    wasmSources().map((name) => [
      name,
      createHash("sha256")
        .update(readFileSync(join(WASM_DIR, name)))
        .digest("hex"),
    ]),
  );
}

/** Compiles the sources into `output`; throws with the compiler's message on failure. */
export function compileWasm(output: string): void {
  const run = Bun.spawnSync([CLANG, ...FLAGS, ...LINK_FLAGS, "-o", output, ...wasmSources()], { cwd: WASM_DIR, stderr: "pipe" });
  if (run.exitCode !== 0) throw new Error(`${CLANG} failed:\n${run.stderr.toString()}`);
}

if (import.meta.main) {
  compileWasm(join(WASM_DIR, "resample.wasm"));
  // clang marks its output executable; the module is data.
  chmodSync(join(WASM_DIR, "resample.wasm"), 0o644);
  writeFileSync(join(WASM_DIR, "resample.wasm.json"), `${JSON.stringify({ sources: sourceDigests() }, null, 2)}\n`);
  console.log(`wrote ${join(WASM_DIR, "resample.wasm")}`);
}
