/**
 * Runs one command line: `serve` (the default) keeps the process running; every other command
 * returns its exit status. Errors become one line on stderr: usage and settings errors exit 2,
 * anything else 1.
 */
import { SettingsError } from "../config/settings.ts";
import { VERSION } from "../version.ts";
import { parseCommandLine, UsageError } from "./args.ts";
import { USAGE } from "./usage.ts";
import { downloadModels } from "./download.ts";
import { listModels } from "./models.ts";

/** Exit status, or undefined when the command is the server, which keeps running. */
export async function runCli(argv: string[], serve: () => Promise<void>): Promise<number | undefined> {
  try {
    const invocation = parseCommandLine(argv);
    switch (invocation.command) {
      case "help":
        console.log(USAGE);
        return 0;
      case "version":
        console.log(VERSION);
        return 0;
      case "serve":
        await serve();
        return undefined;
      case "download":
        return await downloadModels(invocation);
      case "models":
        return listModels();
      case "selftest":
        // Loaded only for this command: it loads onnxruntime, which the server keeps off its main thread.
        return await (await import("./selftest.ts")).selftest();
    }
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`immich-ml: ${error.message} (see immich-ml --help)`);
      return 2;
    }
    if (error instanceof SettingsError) {
      console.error(`immich-ml: ${error.message}`);
      return 2;
    }
    console.error(`immich-ml: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`);
    return 1;
  }
}
