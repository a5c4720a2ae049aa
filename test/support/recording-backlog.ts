/** A SearchBacklog on a clock the test moves, recording every nice it sets. */
import { SearchBacklog } from "../../src/runtime/search-backlog.ts";

export function recordingBacklog(quietNice = -3): { backlog: SearchBacklog; clock: { ms: number }; set: number[] } {
  const clock = { ms: 0 };
  const set: number[] = [];
  const backlog = new SearchBacklog(
    quietNice,
    (nice) => set.push(nice),
    () => clock.ms,
  );
  return { backlog, clock, set };
}
