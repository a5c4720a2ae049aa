/**
 * Finds environment variables that look like a misspelling of one we read (`IMMICH_PROT`,
 * `MACHINE_LEARNING_CACHE_FOLDR`): such a variable is otherwise ignored without a word and the
 * setting silently keeps its default. Only our prefixes are looked at, and only names within two
 * edits of a known one, so the Immich server's own variables in a shared `.env` stay quiet.
 */

const PREFIXES = ["machine_learning_", "immich_"];
const MAX_EDITS = 2;

export interface MisspelledVariable {
  /** As written in the environment. */
  name: string;
  /** The known name it is closest to, upper-case. */
  suggestion: string;
}

/**
 * Edits (insertions, deletions, substitutions, swaps of neighbours) between two names, stopping
 * early past `limit`. Written out because it is a dozen lines and we need the neighbour swap
 * (`PROT` → `PORT`) that plain Levenshtein distance counts as two.
 */
export function editDistance(a: string, b: string, limit = MAX_EDITS): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  let before: number[] = [];
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, before[j - 2]! + 1);
      current.push(best);
    }
    if (Math.min(...current) > limit) return limit + 1;
    before = previous;
    previous = current;
  }
  return previous[b.length]!;
}

/** Our-prefixed variables that are not known but are close to a known name (names compared case-insensitively). */
export function misspelledVariables(env: Record<string, string | undefined>, known: ReadonlySet<string>): MisspelledVariable[] {
  const found: MisspelledVariable[] = [];
  for (const name of Object.keys(env)) {
    const lower = name.toLowerCase();
    if (known.has(lower) || !PREFIXES.some((prefix) => lower.startsWith(prefix))) continue;
    let closest: { name: string; edits: number } | undefined;
    for (const candidate of known) {
      const edits = editDistance(lower, candidate);
      if (edits <= MAX_EDITS && (!closest || edits < closest.edits)) closest = { name: candidate, edits };
    }
    if (closest) found.push({ name, suggestion: closest.name.toUpperCase() });
  }
  return found;
}
