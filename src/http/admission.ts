/**
 * Backpressure at the front door: at most `concurrent` predictions run at once, at most `queued`
 * wait for a slot; beyond that a request is refused at once with 503 and `Retry-After`, so an
 * overloaded service sheds load instead of piling up memory, and /ping keeps answering.
 *
 * The request timeout counts from arrival. A request still waiting for a slot at its deadline
 * leaves the queue with 503 and `Retry-After` (it never started; retrying later is right). One
 * that is running gets 504, and its abandon signal tells the runtime to drop the work it has not
 * started yet (request-scope.ts); its slot stays taken until that work really ends, so abandoned
 * runs cannot pile up past the limit while new requests are admitted.
 */
import { RequestError } from "../pipeline/request-error.ts";
import { withinRequest } from "../runtime/request-scope.ts";

export class AdmissionGate {
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(
    private readonly concurrent: number,
    private readonly queued: number,
  ) {}

  get inFlight(): number {
    return this.running;
  }

  get queueDepth(): number {
    return this.waiting.length;
  }

  /** Runs `work` in a slot, answering 503/504 at `timeoutSeconds` after arrival (0: no limit). */
  run<T>(work: () => Promise<T>, timeoutSeconds = 0): Promise<T> {
    if (this.running >= this.concurrent && this.waiting.length >= this.queued) {
      return Promise.reject(new RequestError(503, "Service is at capacity, retry shortly", { "Retry-After": "1" }));
    }
    return new Promise<T>((resolve, reject) => {
      const abandon = new AbortController();
      let queuedStart: (() => void) | undefined;
      let answered = false;
      const answer = (finish: () => void) => {
        if (answered) return;
        answered = true;
        clearTimeout(deadline);
        finish();
      };

      const start = () => {
        queuedStart = undefined;
        withinRequest(abandon.signal, async () => work())
          .then((value) => answer(() => resolve(value)), (error: unknown) => answer(() => reject(error)))
          .finally(() => this.release());
      };

      const deadline =
        timeoutSeconds > 0
          ? setTimeout(() => {
              if (queuedStart) {
                this.waiting.splice(this.waiting.indexOf(queuedStart), 1);
                answer(() => reject(new RequestError(503, `No free slot within ${timeoutSeconds} s (MACHINE_LEARNING_REQUEST_TIMEOUT_S), retry shortly`, { "Retry-After": "1" })));
              } else {
                abandon.abort();
                answer(() => reject(new RequestError(504, `Inference took longer than ${timeoutSeconds} s (MACHINE_LEARNING_REQUEST_TIMEOUT_S)`)));
              }
            }, timeoutSeconds * 1000)
          : undefined;

      if (this.running < this.concurrent) {
        this.running++;
        start();
      } else {
        queuedStart = start;
        this.waiting.push(start);
      }
    });
  }

  /** The finishing request hands its slot over directly, so `running` never overshoots. */
  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.running--;
  }
}
