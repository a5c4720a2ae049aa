/**
 * Text a client chose (model names, languages, task names) as it may appear in answers and log
 * lines: cut to a bounded length, so that a 10 MB model name costs nobody 10 MB again, and
 * escaped for logs, so that a name holding line breaks cannot forge log lines.
 */

/** Longest client text echoed in an answer or a log line. */
export const MAX_ECHOED_CHARS = 100;

/** At most `MAX_ECHOED_CHARS` characters of `text`, saying how many were left out. */
export function excerpt(text: string): string {
  if (text.length <= MAX_ECHOED_CHARS) return text;
  return `${text.slice(0, MAX_ECHOED_CHARS)}…(${text.length - MAX_ECHOED_CHARS} more characters)`;
}

/** `excerpt` with line breaks, control characters, quotes and backslashes escaped as in JSON. */
export function escapedForLog(text: string): string {
  return JSON.stringify(excerpt(text)).slice(1, -1);
}
