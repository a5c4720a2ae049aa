/**
 * Backpressure at the front door: at most `concurrent` predictions run at once, at most `queued`
 * wait for a slot; beyond that a request is refused at once with 503 and `Retry-After`, so an
 * overloaded service sheds load instead of piling up memory, and /ping keeps answering.
 */
import { RequestError } from "../pipeline/request-error.ts";

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

  /**
   * Runs `work` in a slot. With `timeoutSeconds`, the caller gets 504 at the deadline but the slot
   * stays taken until the work really ends: an inference cannot be cancelled, and freeing its slot
   * early would let abandoned runs pile up past the limit while new requests are admitted.
   */
  async run<T>(work: () => Promise<T>, timeoutSeconds = 0): Promise<T> {
    if (this.running < this.concurrent) {
      this.running++;
    } else {
      if (this.waiting.length >= this.queued) {
        throw new RequestError(503, "Service is at capacity, retry shortly", { "Retry-After": "1" });
      }
      // The finishing request hands its slot over directly, so `running` never overshoots.
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
    const running = (async () => {
      try {
        return await work();
      } finally {
        const next = this.waiting.shift();
        if (next) next();
        else this.running--;
      }
    })();
    return withTimeout(running, timeoutSeconds);
  }
}

/** Resolves like `work`, or rejects with 504 after `seconds` (`work` runs on: nothing can stop an inference). */
function withTimeout<T>(work: Promise<T>, seconds: number): Promise<T> {
  if (!(seconds > 0)) return work;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new RequestError(504, `Inference took longer than ${seconds} s (MACHINE_LEARNING_REQUEST_TIMEOUT_S)`)),
      seconds * 1000,
    );
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
