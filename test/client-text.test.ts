import { expect, test } from "bun:test";
import { escapedForLog, excerpt, MAX_ECHOED_CHARS } from "../src/client-text.ts";
import { floresCode } from "../src/tasks/clip/flores.ts";
import { setLogLevel, setLogSink } from "../src/log.ts";

test("short text is kept whole; long text is cut and says how much was left out", () => {
  expect(excerpt("buffalo_l")).toBe("buffalo_l");
  const long = "x".repeat(MAX_ECHOED_CHARS + 5);
  expect(excerpt(long)).toBe(`${"x".repeat(MAX_ECHOED_CHARS)}…(5 more characters)`);
});

test("text for a log line has line breaks, quotes and control characters escaped", () => {
  expect(escapedForLog('a\nb"\u001b[31m')).toBe('a\\nb\\"\\u001b[31m');
});

test("a client's language cannot forge a log line", () => {
  const lines: string[] = [];
  const previous = setLogSink((line) => lines.push(line));
  setLogLevel("warn");
  try {
    floresCode("xx\n[2026-01-01T00:00:00.000Z] ERROR    forged");
  } finally {
    setLogLevel("critical");
    setLogSink(previous);
  }
  expect(lines).toHaveLength(1);
  expect(lines[0]).not.toContain("\n");
  expect(lines[0]).toContain("Language 'xx\\n[2026");
});
