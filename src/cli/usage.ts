/** The `--help` text. */
import { TASK_TYPES } from "../models/identity.ts";
import { VERSION } from "../version.ts";

const types = Object.entries(TASK_TYPES)
  .map(([task, list]) => `  ${task}: ${list.join(", ")}`)
  .join("\n");

export const USAGE = `immich-ml ${VERSION}: drop-in replacement for Immich's machine-learning service

Usage:
  immich-ml [serve]        serve Immich's ML API on IMMICH_HOST:IMMICH_PORT ([::]:3003)
  immich-ml download <model>... [--task <task>] [--type <type>]
                           fetch models into the cache folder ahead of first use
  immich-ml models         list the supported models, embedding sizes and what is cached
  immich-ml selftest       check onnxruntime, sharp and worker threads on this machine
  immich-ml --help | --version

download fetches every type of the model's task unless --type names one:
${types}
--task, when given, must be the model's task.

Settings come from the environment, as upstream's (MACHINE_LEARNING_CACHE_FOLDER, HF_ENDPOINT,
HF_TOKEN, ...: see the README). IMMICH_ML_NATIVE_DIR sets where the executable extracts its
native libraries (default: ~/.cache/immich-ml/native).`;
