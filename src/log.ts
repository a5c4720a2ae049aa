/**
 * Process-wide logger. Levels and names follow `IMMICH_LOG_LEVEL` as the Immich images accept it
 * (verbose/debug/log/info/warn(ing)/error/critical); lines go to stderr so stdout stays free for
 * CLI output such as `immich-ml models`.
 */
export type LogLevel = "verbose" | "debug" | "info" | "warn" | "error" | "critical";

const LEVEL_RANK: Record<LogLevel, number> = { verbose: 0, debug: 1, info: 2, warn: 3, error: 4, critical: 5 };

/** Aliases accepted by upstream's log configuration, mapped onto our levels. */
const LEVEL_ALIASES: Record<string, LogLevel> = {
  verbose: "verbose",
  debug: "debug",
  log: "info",
  info: "info",
  warn: "warn",
  warning: "warn",
  error: "error",
  critical: "critical",
  fatal: "critical",
};

export function parseLogLevel(value: string): LogLevel | undefined {
  return LEVEL_ALIASES[value.trim().toLowerCase()];
}

let threshold = LEVEL_RANK.info;
let sink: (line: string) => void = (line) => process.stderr.write(`${line}\n`);

export function setLogLevel(level: LogLevel): void {
  threshold = LEVEL_RANK[level];
}

/** Redirects log lines (tests capture warnings this way). Returns the previous sink. */
export function setLogSink(next: (line: string) => void): (line: string) => void {
  const previous = sink;
  sink = next;
  return previous;
}

function emit(level: LogLevel, message: string): void {
  if (LEVEL_RANK[level] < threshold) return;
  sink(`[${new Date().toISOString()}] ${level.toUpperCase().padEnd(8)} ${message}`);
}

export const log = {
  verbose: (message: string) => emit("verbose", message),
  debug: (message: string) => emit("debug", message),
  info: (message: string) => emit("info", message),
  warn: (message: string) => emit("warn", message),
  error: (message: string) => emit("error", message),
  isEnabled: (level: LogLevel) => LEVEL_RANK[level] >= threshold,
};
