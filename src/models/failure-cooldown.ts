/**
 * Remembers what failed, per model, for a cool-down: until it ends the failure is answered again
 * without trying again, so that an unreachable hub or a model that cannot load costs one attempt
 * and one log line per cool-down, not one per request.
 */

/** Seconds a failed download or load is remembered before the next request tries again. */
export const FAILURE_COOLDOWN_S = 60;

export interface RecentFailure<E> {
  readonly error: E;
  /** Whole seconds until the next attempt is allowed (at least 1). */
  readonly retryInSeconds: number;
}

export class FailureCooldown<E> {
  private readonly failures = new Map<string, { error: E; until: number }>();

  constructor(
    private readonly seconds = FAILURE_COOLDOWN_S,
    /** Seconds on any monotonic clock (tests pass their own). */
    private readonly now: () => number = () => performance.now() / 1000,
  ) {}

  /** The failure recorded for `key`, while its cool-down lasts. */
  recent(key: string): RecentFailure<E> | undefined {
    const failure = this.failures.get(key);
    if (!failure) return undefined;
    const left = failure.until - this.now();
    if (left <= 0) {
      this.failures.delete(key);
      return undefined;
    }
    return { error: failure.error, retryInSeconds: Math.max(1, Math.ceil(left)) };
  }

  record(key: string, error: E): void {
    this.failures.set(key, { error, until: this.now() + this.seconds });
  }

  /** Failures still cooling down, by key (for /health). */
  all(): Array<{ key: string } & RecentFailure<E>> {
    return [...this.failures.keys()].flatMap((key) => {
      const failure = this.recent(key);
      return failure ? [{ key, ...failure }] : [];
    });
  }
}
