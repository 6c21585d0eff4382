export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
}

/** Watch restarts: 200 ms doubling to 30 s, as client-go's reflector backs off to about 30 s. */
export const WATCH_RESTART_BACKOFF: BackoffPolicy = { initialMs: 200, maxMs: 30_000 };

/**
 * Exponential backoff with equal jitter: each delay is half the exponential step plus up to half
 * again at random, so replicas that lost the API server together do not come back in lockstep.
 */
export class Backoff {
  private attempt = 0;

  constructor(
    private readonly policy: BackoffPolicy = WATCH_RESTART_BACKOFF,
    private readonly random: () => number = Math.random,
  ) {}

  nextDelayMs(): number {
    const step = Math.min(this.policy.maxMs, this.policy.initialMs * 2 ** this.attempt);
    if (step < this.policy.maxMs) this.attempt++;
    return step / 2 + (this.random() * step) / 2;
  }

  reset(): void {
    this.attempt = 0;
  }
}
