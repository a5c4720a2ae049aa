/** A misspelled variable is reported when the server starts, and the server starts anyway. */
import { expect, test } from "bun:test";
import { startServeProcess } from "../support/server-process.ts";

test("serve logs 'did you mean' for a near-miss name and still answers /ping", async () => {
  const server = await startServeProcess({ MACHINE_LEARNING_MODEL_TLL: "5", IMMICH_LOG_LEVEL: "warn" });
  expect(await fetch(`${server.url}/ping`).then((r) => r.text())).toBe("pong");
  await server.stop();
  expect(await server.stderr).toContain(
    "MACHINE_LEARNING_MODEL_TLL is not a variable immich-ml reads and is ignored: did you mean MACHINE_LEARNING_MODEL_TTL?",
  );
});
