/** Command-line parsing: one command word, the model names of `download`, and its options. */
import { parseArgs } from "node:util";

export class UsageError extends Error {
  override readonly name = "UsageError";
}

const COMMANDS = ["serve", "download", "models", "selftest"] as const;
export type Command = (typeof COMMANDS)[number] | "help" | "version";

export interface Invocation {
  command: Command;
  /** Model names (download only). */
  names: string[];
  task: string | undefined;
  type: string | undefined;
  /** `download --cache <dir>`: the cache folder to fill, instead of MACHINE_LEARNING_CACHE_FOLDER. */
  cacheFolder: string | undefined;
}

function isCommand(word: string): word is (typeof COMMANDS)[number] {
  return (COMMANDS as readonly string[]).includes(word);
}

export function parseCommandLine(argv: string[]): Invocation {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        help: { type: "boolean", short: "h" },
        version: { type: "boolean", short: "v" },
        task: { type: "string" },
        type: { type: "string" },
        cache: { type: "string" },
      },
    });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message.split("\n")[0]! : String(error));
  }
  const { values, positionals } = parsed;
  const [word = "serve", ...names] = positionals;
  const invocation = (command: Command): Invocation => ({ command, names, task: values.task, type: values.type, cacheFolder: values.cache });
  if (values.help || word === "help") return invocation("help");
  if (values.version) return invocation("version");
  if (!isCommand(word)) throw new UsageError(`unknown command '${word}'`);
  if (word === "download") {
    if (names.length === 0) throw new UsageError("download needs at least one model name");
  } else {
    if (names.length > 0) throw new UsageError(`'${word}' takes no arguments (got '${names[0]}')`);
    if (values.task !== undefined || values.type !== undefined || values.cache !== undefined) {
      throw new UsageError("--task, --type and --cache apply to download only");
    }
  }
  return invocation(word);
}
