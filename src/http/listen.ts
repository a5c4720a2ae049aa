/** Puts the HTTP app on the public address: behind the connection guard, or facing clients itself. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Settings } from "../config/settings.ts";
import type { createApp } from "./app.ts";
import { defaultMaxConnections, startConnectionGuard } from "./connection-guard.ts";

export interface Listening {
  port: number;
  /** Stops accepting; with `closeActive` open connections are cut, else in-flight requests finish. */
  stop(closeActive: boolean): Promise<void>;
}

type App = ReturnType<typeof createApp>;

export function listen(app: App, settings: Settings, hostname: string, port: number): Listening {
  // Elysia asks Bun for SO_REUSEPORT: a second instance on the same port would then start quietly
  // and take a share of the requests with an empty cache. Without it a taken port fails start-up.
  if (!settings.connectionGuard) {
    app.listen({ hostname, port, reusePort: false });
    return { port: app.server!.port!, stop: async (closeActive) => void (await app.stop(closeActive)) };
  }
  // A private folder: the socket is reachable by this user only, and two instances never collide.
  const folder = mkdtempSync(join(tmpdir(), "immich-ml-"));
  const unix = join(folder, "http.sock");
  const removeFolder = () => rmSync(folder, { recursive: true, force: true });
  // A stop that times out ends the process without finishing stop(): the folder goes anyway.
  process.once("exit", removeFolder);
  app.listen({ unix });
  try {
    const guard = startConnectionGuard({
      hostname,
      port,
      upstream: unix,
      maxConnections: settings.maxConnections ?? defaultMaxConnections(),
      headerTimeoutS: settings.headerTimeoutS,
      keepaliveTimeoutS: settings.httpKeepaliveTimeoutS,
      bodyTimeoutS: settings.bodyTimeoutS,
    });
    return {
      port: guard.port,
      async stop(closeActive) {
        guard.stop(closeActive);
        await app.stop(closeActive);
        removeFolder();
        process.off("exit", removeFolder);
      },
    };
  } catch (error) {
    void app.stop(true);
    removeFolder();
    process.off("exit", removeFolder);
    // Bun.listen's message names the host only; Bun.serve's (guard off) asks about the port, as this does.
    if ((error as { code?: string }).code === "EADDRINUSE") throw new Error(`Failed to listen at ${hostname}:${port}. Is port ${port} in use?`);
    throw error;
  }
}
