/**
 * When search queries stop being someone waiting and become a backlog, their threads yield.
 *
 * The search thread and the onnxruntime threads it made run above normal priority (nice -3,
 * thread-priority.ts) so that a query someone waits for holds its own beside the Immich server's
 * thumbnailing. A flood of queries is another thing: more in flight than every inference thread
 * together can run, one after the other without end. At -3 such a flood takes both cores from
 * every nice-0 process of the host, the Immich server and its health checks included: on the
 * 2-core bench host, under CLIP text saturation, /ping's p99 read 11, 13, 18 and 33 ms with the
 * search threads at -3, 21 ms at 0, and 5.8, 6.5 and 7.7 ms at +10, the queries a second alike
 * (bench/RESULTS.md). So while more queries are in flight than the threads that may run them,
 * the search threads drop to library-scan priority; a second after the last such moment, the next
 * look puts them back. A few concurrent queries (two users, or a query beside a scan) never
 * exceed that capacity and keep their priority.
 */
import { INFERENCE_NICE } from "./thread-priority.ts";

/** The nice of the search threads during a backlog: the library scan's. */
export const BACKLOG_NICE = INFERENCE_NICE;
/** How long after the last backlogged moment the search threads get their priority back. */
export const RESTORE_AFTER_MS = 1000;

export class SearchBacklog {
  #lowered = false;
  #lastBackloggedMs = Number.NEGATIVE_INFINITY;

  /**
   * @param quietNice the search threads' nice without a backlog
   * @param setNice sets every search thread's nice
   * @param now a clock in milliseconds (injected by tests)
   */
  constructor(
    private readonly quietNice: number,
    private readonly setNice: (nice: number) => void,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Called whenever a query is queued or answered: `inFlight` queries, `capacity` threads that may run them. */
  observe(inFlight: number, capacity: number): void {
    const now = this.now();
    if (inFlight > capacity) {
      this.#lastBackloggedMs = now;
      if (!this.#lowered) {
        this.#lowered = true;
        this.setNice(BACKLOG_NICE);
      }
    } else if (this.#lowered && now - this.#lastBackloggedMs >= RESTORE_AFTER_MS) {
      this.#lowered = false;
      this.setNice(this.quietNice);
    }
  }
}
