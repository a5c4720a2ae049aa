/**
 * A peer's JSON answer split into its top-level fields, each kept as the exact bytes the peer
 * printed. Merging must not re-print them: parsing would lose upstream's float32 digits (`690.0`
 * becomes `690`) and the embedding strings' exact text, so the merged response could no longer be
 * byte-identical to a single instance's.
 */
export function topLevelFields(json: string): Map<string, string> {
  const parsed: unknown = JSON.parse(json); // validates: the scan below assumes well-formed JSON
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new Error("not a JSON object");
  const fields = new Map<string, string>();
  let i = skipSpace(json, json.indexOf("{") + 1);
  while (json[i] === '"') {
    const keyEnd = stringEnd(json, i);
    const key = JSON.parse(json.slice(i, keyEnd)) as string;
    const valueStart = skipSpace(json, skipSpace(json, keyEnd) + 1); // past the colon
    const valueEnd = valueEndAt(json, valueStart);
    fields.set(key, json.slice(valueStart, valueEnd).trimEnd());
    i = skipSpace(json, valueEnd);
    if (json[i] === ",") i = skipSpace(json, i + 1);
  }
  return fields;
}

function skipSpace(text: string, i: number): number {
  while (i < text.length && " \t\r\n".includes(text[i]!)) i++;
  return i;
}

/** Index just past the string literal starting at `start` (a `"`). */
function stringEnd(text: string, start: number): number {
  let i = start + 1;
  while (text[i] !== '"') i += text[i] === "\\" ? 2 : 1;
  return i + 1;
}

/** Index of the `,` or `}` ending the value that starts at `start`, at nesting depth 0. */
function valueEndAt(text: string, start: number): number {
  let depth = 0;
  let i = start;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '"') {
      i = stringEnd(text, i);
      continue;
    }
    if (c === "{" || c === "[") depth++;
    else if (c === "}" || c === "]") {
      if (depth === 0) return i;
      depth--;
    } else if (c === "," && depth === 0) return i;
    i++;
  }
  return i;
}
