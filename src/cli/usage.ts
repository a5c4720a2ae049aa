/** The `--help` text. */
import { TASK_TYPES } from "../tasks/catalog.ts";
import { VERSION } from "../version.ts";

const types = Object.entries(TASK_TYPES)
  .map(([task, list]) => `  ${task}: ${list.join(", ")}`)
  .join("\n");

export const USAGE = `immich-ml ${VERSION}: drop-in replacement for Immich's machine-learning service

Usage:
  immich-ml [serve]        serve Immich's ML API on IMMICH_HOST:IMMICH_PORT ([::]:3003)
  immich-ml download <model>... [--task <task>] [--type <type>] [--cache <dir>]
                           fetch models into the cache folder (or <dir>) ahead of first use
  immich-ml models         list the supported models, embedding sizes and what is cached
  immich-ml selftest       check onnxruntime, sharp and worker threads on this machine
  immich-ml --help | --version

download fetches every type of the model's task unless --type names one:
${types}
--task, when given, must be the model's task. --cache fills <dir> instead of
MACHINE_LEARNING_CACHE_FOLDER: copy it to an offline machine and serve it there with
MACHINE_LEARNING_CACHE_FOLDER=<copy> HF_HUB_OFFLINE=1.

Settings come from the environment, as upstream's (MACHINE_LEARNING_CACHE_FOLDER, HF_ENDPOINT,
HF_TOKEN, ...: see the README). IMMICH_ML_NATIVE_DIR sets where the executable extracts its
native libraries (default: ~/.cache/immich-ml/native).`;
