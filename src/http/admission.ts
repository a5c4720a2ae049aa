/**
 * Backpressure at the front door: at most `concurrent` predictions run at once, at most `queued`
 * wait for a slot; beyond that a request is refused at once with 503 and `Retry-After`, so an
 * overloaded service sheds load instead of piling up memory, and /ping keeps answering.
 *
 * The request timeout counts from admission (the body has been read). A request still waiting for a slot at its deadline
 * leaves the queue with 503 and `Retry-After` (it never started; retrying later is right). One
 * that is running gets 504, and its abandon signal tells the runtime to drop the work it has not
 * started yet (request-scope.ts); its slot stays taken until that work really ends, so abandoned
 * runs cannot pile up past the limit while new requests are admitted.
 *
 * A client that disconnects is given up on the same way: out of the queue if it waits, its abandon
 * signal fired if it runs (answered 499, which nobody reads).
 *
 * Interactive requests (search queries, which a person waits for) wait ahead of queued batch work.
 */
import { RequestError } from "../pipeline/request-error.ts";
import { withinRequest } from "../runtime/request-scope.ts";

export class AdmissionGate {
  private running = 0;
  private readonly waiting: Array<{ start: () => void; interactive: boolean }> = [];

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

  /**
   * Runs `work` in a slot, answering 503/504 at `timeoutSeconds` after this call (0: no limit),
   * or 499 as soon as `clientGone` fires.
   */
  run<T>(work: () => Promise<T>, timeoutSeconds = 0, interactive = false, clientGone?: AbortSignal): Promise<T> {
    if (this.running >= this.concurrent && this.waiting.length >= this.queued) {
      return Promise.reject(new RequestError(503, "Service is at capacity, retry shortly", { "Retry-After": "1" }));
    }
    return new Promise<T>((resolve, reject) => {
      const abandon = new AbortController();
      let queuedEntry: { start: () => void; interactive: boolean } | undefined;
      let answered = false;
      const answer = (finish: () => void) => {
        if (answered) return;
        answered = true;
        clearTimeout(deadline);
        clientGone?.removeEventListener("abort", onClientGone);
        finish();
      };
      /** Leaves the queue (`queued`) or abandons the running work (`running`), then answers. */
      const giveUp = (queued: RequestError, running: RequestError) => {
        if (queuedEntry) {
          this.waiting.splice(this.waiting.indexOf(queuedEntry), 1);
          queuedEntry = undefined;
          answer(() => reject(queued));
        } else {
          abandon.abort();
          answer(() => reject(running));
        }
      };
      const onClientGone = () => {
        const gone = new RequestError(499, "Client closed the connection");
        giveUp(gone, gone);
      };

      const start = () => {
        queuedEntry = undefined;
        // The slot is handed on as the work settles, before its caller hears of it.
        withinRequest(abandon.signal, async () => work()).then(
          (value) => {
            this.release();
            answer(() => resolve(value));
          },
          (error: unknown) => {
            this.release();
            answer(() => reject(error));
          },
        );
      };

      const deadline =
        timeoutSeconds > 0
          ? setTimeout(
              () =>
                giveUp(
                  new RequestError(503, `No free slot within ${timeoutSeconds} s (MACHINE_LEARNING_REQUEST_TIMEOUT_S), retry shortly`, { "Retry-After": "1" }),
                  new RequestError(504, `Inference took longer than ${timeoutSeconds} s (MACHINE_LEARNING_REQUEST_TIMEOUT_S)`),
                ),
              timeoutSeconds * 1000,
            )
          : undefined;

      if (clientGone?.aborted) return onClientGone();
      clientGone?.addEventListener("abort", onClientGone, { once: true });
      if (this.running < this.concurrent) {
        this.running++;
        start();
      } else {
        queuedEntry = { start, interactive };
        // Behind earlier interactive requests, ahead of every batch one.
        const firstBatch = interactive ? this.waiting.findIndex((entry) => !entry.interactive) : -1;
        this.waiting.splice(firstBatch === -1 ? this.waiting.length : firstBatch, 0, queuedEntry);
      }
    });
  }

  /** The finishing request hands its slot over directly, so `running` never overshoots. */
  private release(): void {
    const next = this.waiting.shift();
    if (next) next.start();
    else this.running--;
  }
}

/**
 * Bytes that requests hold at once, reserved before they are taken: request bodies before they
 * are read (the declared length, else the largest allowed body; 24 bodies of 60 MB were all
 * buffered before any limit applied: 2.1 GiB), decoded images before they are decoded (8 images
 * of 100 Mpx at once: 3.85 GiB). Given back when the request is answered or abandoned. The first
 * reservation always fits, so one request at the limit is never refused for good.
 */
export class ByteBudget {
  private reservedBytes = 0;
  private readonly held = new WeakMap<object, number>();

  constructor(private readonly limit: number) {}

  get reserved(): number {
    return this.reservedBytes;
  }

  /** Reserves `bytes` for `owner`; false (nothing reserved) when they do not fit now. */
  reserve(owner: object, bytes: number): boolean {
    if (this.held.has(owner)) return true;
    if (this.reservedBytes > 0 && this.reservedBytes + bytes > this.limit) return false;
    this.held.set(owner, bytes);
    this.reservedBytes += bytes;
    return true;
  }

  /** Gives back what `owner` reserved; safe to call more than once. */
  release(owner: object): void {
    const bytes = this.held.get(owner);
    if (bytes === undefined) return;
    this.held.delete(owner);
    this.reservedBytes -= bytes;
  }
}
