/** The program proper, loaded by main.ts: `immich-ml [serve]` starts the Immich ML API server; see src/cli/ for the other commands. */
import "./native/loader.ts"; // first: native set-up before onnxruntime-node or sharp loads
import { loadSettings, SettingsError } from "./config/settings.ts";
import { log, setLogLevel } from "./log.ts";
import { createService, preloadModels } from "./service.ts";
import { createApp } from "./http/app.ts";
import { listen } from "./http/listen.ts";
import { VERSION } from "./version.ts";
import { runCli } from "./cli/cli.ts";
import { keepComputeThreadsDeprioritized, raiseServingThread } from "./runtime/thread-priority.ts";
import { fixMallocThresholds } from "./runtime/allocator.ts";

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
  // Before any worker exists: each lowers itself to its tier on its first job (thread-priority.ts).
  raiseServingThread(settings.searchNice);
  fixMallocThresholds();
  for (const name of settings.ignored) log.info(`${name} is not used by immich-ml and is ignored`);
  for (const { name, suggestion } of settings.misspelled) log.warn(`${name} is not a variable immich-ml reads and is ignored: did you mean ${suggestion}?`);
  const service = createService(settings);
  log.info(
    `immich-ml ${VERSION}: cache ${settings.cacheFolder}, ${settings.requestThreads} worker threads, ` +
      `${settings.inferenceThreads} inference threads with ORT intra ${settings.intraOpThreads} / inter ${settings.interOpThreads} ` +
      `(search queries: intra ${settings.searchIntraOpThreads}), ` +
      `model TTL ${settings.modelTtl} s`,
  );
  const hostname = settings.host.replace(/^\[(.*)\]$/, "$1");
  // Listening before preloading: /ping (liveness) answers at once, /ready says 503 until preloaded.
  const server = listen(createApp(service), settings, hostname, settings.port);
  log.info(`Listening on ${settings.host}:${server.port}`);
  keepComputeThreadsDeprioritized(2);

  const shutdown = async (signal: string) => {
    log.info(`${signal} received: finishing in-flight requests (at most ${settings.shutdownTimeoutS} s)`);
    // Balancers polling /ready see 503 and stop sending before the listener closes.
    service.readiness.drain();
    if (settings.scaling.drainDelayS > 0) await Bun.sleep(settings.scaling.drainDelayS * 1000);
    // A request can be waiting on a model download or a long run; a service manager's stop must
    // not wait on it indefinitely (systemd would end it with SIGKILL after its own timeout).
    setTimeout(() => {
      log.warn(`In-flight work still running after ${settings.shutdownTimeoutS} s (MACHINE_LEARNING_SHUTDOWN_TIMEOUT_S): exiting anyway`);
      process.exit(0);
    }, settings.shutdownTimeoutS * 1000);
    await server.stop(false);
    await service.close();
    process.exit(0);
  };
  process.once("SIGTERM", () => void shutdown("SIGTERM"));
  process.once("SIGINT", () => void shutdown("SIGINT"));
  await preloadModels(service);
}

const exitCode = await runCli(process.argv.slice(2), serve);
if (exitCode !== undefined) process.exit(exitCode);
