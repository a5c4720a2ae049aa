/**
 * The context the service hands its models (service.ts), for tests that load models from a cache
 * folder they prepared: offline, kernels run inline, no arena, one intra-op thread per session.
 * The settings and the sessions agree on the inference threads, as in the service.
 */
import { loadSettings } from "../../src/config/settings.ts";
import type { ModelContext } from "../../src/models/inference-model.ts";
import { ModelStore } from "../../src/models/model-store.ts";
import { InferenceThreads } from "../../src/runtime/onnx-session.ts";
import { WorkerPool } from "../../src/runtime/worker-pool.ts";
import { TASK_KERNELS } from "../../src/tasks/kernels.ts";

export function offlineModelContext(cacheFolder: string, inferenceThreads = 1, env: Record<string, string> = {}): ModelContext {
  return {
    settings: loadSettings({ MACHINE_LEARNING_CACHE_FOLDER: cacheFolder, MACHINE_LEARNING_INFERENCE_THREADS: String(inferenceThreads), ...env }),
    store: new ModelStore({ cacheFolder, revision: "main", offline: true }),
    pool: new WorkerPool(0, TASK_KERNELS), // kernels inline: no threads to start
    session: { inferenceThreads, intraOpThreads: 1, interOpThreads: 1, arena: false, deviceId: "0" },
    inference: new InferenceThreads(),
  };
}
