/** Log lines captured while a body runs, at a chosen level (test/setup.ts otherwise logs only critical ones). */
import { type LogLevel, log, setLogLevel, setLogSink } from "../../src/log.ts";

/** Lines logged at `level` and above while `body` runs; the level and the sink are restored after. */
export function captureLog(level: LogLevel, body: () => void): string[] {
  const lines: string[] = [];
  const restoreLevel = log.isEnabled("debug") ? "debug" : "critical"; // what test/setup.ts chose
  setLogLevel(level);
  const previous = setLogSink((line) => lines.push(line));
  try {
    body();
  } finally {
    setLogSink(previous);
    setLogLevel(restoreLevel);
  }
  return lines;
}
