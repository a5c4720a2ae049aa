/** The program proper, loaded by main.ts: `immich-ml [serve]` starts the Immich ML API server; see src/cli/ for the other commands. */
import "./native/loader.ts"; // first: native set-up before onnxruntime-node or sharp loads
import { loadSettings, SettingsError } from "./config/settings.ts";
import { log, setLogLevel } from "./log.ts";
import { createService, preloadModels } from "./service.ts";
import { createApp } from "./http/app.ts";
import { VERSION } from "./version.ts";
import { runCli } from "./cli/cli.ts";
import { keepComputeThreadsDeprioritized } from "./runtime/thread-priority.ts";
import { fixMmapThreshold } from "./runtime/allocator.ts";

async function serve(): Promise<void> {
  let settings;
  try {
    settings = loadSettings();
  } catch (error) {
    if (error instanceof SettingsError) {
      console.error(`immich-ml: ${error.message}`);
      process.exit(2);
    }
    throw error;
  }
  setLogLevel(settings.logLevel);
  fixMmapThreshold();
  for (const name of settings.ignored) log.info(`${name} is not used by immich-ml and is ignored`);
  const service = createService(settings);
  log.info(
    `immich-ml ${VERSION}: cache ${settings.cacheFolder}, ${settings.requestThreads} worker threads, ` +
      `${settings.inferenceThreads} inference threads with ORT intra ${settings.intraOpThreads} / inter ${settings.interOpThreads}, ` +
      `model TTL ${settings.modelTtl} s`,
  );
  await preloadModels(service);
  const hostname = settings.host.replace(/^\[(.*)\]$/, "$1");
  const app = createApp(service).listen({ hostname, port: settings.port });
  log.info(`Listening on ${settings.host}:${app.server?.port}`);
  keepComputeThreadsDeprioritized(2);

  const shutdown = async (signal: string) => {
    log.info(`${signal} received: finishing in-flight requests`);
    await app.server?.stop(false);
    await service.close();
    process.exit(0);
  };
  process.once("SIGTERM", () => void shutdown("SIGTERM"));
  process.once("SIGINT", () => void shutdown("SIGINT"));
}

const exitCode = await runCli(process.argv.slice(2), serve);
if (exitCode !== undefined) process.exit(exitCode);
