/** The Hugging Face Hub as a model source: repository `<MODEL_ORGANIZATION>/<clean name>`. */
import { log } from "../log.ts";
import type { FetchPolicy } from "../net/fetch-with-timeouts.ts";
import { downloadHubRepository } from "./hub-download.ts";
import type { ModelIdentity } from "./identity.ts";
import type { ModelSource } from "./model-store.ts";
import { cleanName } from "./registry.ts";

export interface HubSettings {
  organization: string;
  revision: string;
  endpoint: string;
  token: string | undefined;
  network: FetchPolicy;
}

/** Formats for hardware we do not drive; upstream skips them the same way for ONNX. */
const FOREIGN_FORMATS = /\.(armnn|rknn)$/;

export function hubSource(settings: HubSettings, modelName: string): ModelSource {
  const repo = `${settings.organization}/${cleanName(modelName)}`;
  const label = `${settings.endpoint}/${repo}@${settings.revision}`;
  return {
    label,
    async fetch(modelDir: string, identity: ModelIdentity): Promise<void> {
      let lastLogged = 0;
      await downloadHubRepository({
        repo,
        revision: settings.revision,
        destination: modelDir,
        hubUrl: settings.endpoint,
        token: settings.token,
        network: settings.network,
        // Model-root files (config.json) plus this type's folder: the other type is fetched when first used.
        include: (path) => !FOREIGN_FORMATS.test(path) && (!path.includes("/") || path.startsWith(`${identity.type}/`)),
        onProgress: ({ file, receivedBytes, totalBytes }) => {
          const now = Date.now();
          if (now - lastLogged < 2000 && receivedBytes !== totalBytes) return;
          lastLogged = now;
          const pct = totalBytes > 0 ? ((receivedBytes / totalBytes) * 100).toFixed(0) : "100";
          log.info(`  ${repo}/${file}: ${pct}% of ${(totalBytes / 1e6).toFixed(1)} MB`);
        },
      });
    },
  };
}
