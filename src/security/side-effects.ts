// Side effects (Events now, reservations later) only for reviews that could be real. Anyone who can
// reach /validate can send a review; a review the API server sent is about a pod that exists (the
// API server looked it up to route the eviction), matches the uid its client named, and, under
// --client-ca, came from a verified caller. A forged review that fails any of these still gets its
// answer and its audit line, but writes nothing into the cluster.
import type { EvictionAttempt, RequestOrigin } from '../domain';
import type { SecurityMetrics, SideEffect, SideEffectSkip } from './metrics';

/** What the predicate looks at: the decoded attempt, the pod as read, and the transport. */
export interface SideEffectFacts {
  /**
   * An EvictionAttempt exists only for a decoded CREATE of pods/eviction (admission/decode.ts), so
   * the operation and the resource are facts of its type.
   */
  attempt: EvictionAttempt;
  /** The uid of the pod as read for the decision; undefined when it does not exist (or could not be read). */
  podUid: string | undefined;
  /** Undefined when the caller of the decision did not say (treated as unauthenticated). */
  origin: RequestOrigin | undefined;
  /** --client-ca is set: only verified callers may cause side effects. */
  requireAuthenticatedCaller: boolean;
}

/** Why a decision may not write, or undefined when it may. Pure. Dry runs are not asked: they never write (design.md). */
export function sideEffectRefusal(facts: SideEffectFacts): Exclude<SideEffectSkip, 'rate-limited'> | undefined {
  if (facts.podUid === undefined) return 'pod-not-found';
  if (facts.attempt.preconditionUid !== undefined && facts.attempt.preconditionUid !== facts.podUid) return 'uid-mismatch';
  if (facts.requireAuthenticatedCaller && facts.origin?.authenticated !== true) return 'unauthenticated';
  return undefined;
}

export interface RateLimit {
  /** Tokens added per second. */
  perSecond: number;
  /** Bucket size: what a source may spend at once. */
  burst: number;
}

/**
 * New side effects per source address: the API server drains a node's 110 pods in one burst and
 * retries every 5 s (kubectl drain), so the burst covers a node and the rate a steady drain; a pod
 * forging reviews from its own address spends only its own bucket. Refused Events are not lost for
 * real drains: the next retry records them.
 */
export const DEFAULT_SIDE_EFFECT_RATE: RateLimit = { perSecond: 10, burst: 120 };
/** Sources tracked; beyond, the longest idle is forgotten (and starts again with a full bucket). */
const MAX_SOURCES = 10_000;

interface Bucket {
  tokens: number;
  updatedMs: number;
}

/** A token bucket per key, bounded in the number of keys. */
export class SourceRateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly limit: RateLimit,
    private readonly now: () => number = Date.now,
    private readonly maxSources = MAX_SOURCES,
  ) {
    if (!(limit.perSecond > 0 && limit.burst >= 1)) throw new RangeError(`a rate limit needs perSecond > 0 and burst >= 1, got ${JSON.stringify(limit)}`);
  }

  /** Spends one token of `source`'s bucket; false when it is empty. */
  take(source: string): boolean {
    const now = this.now();
    const bucket = this.buckets.get(source);
    let tokens = this.limit.burst;
    if (bucket !== undefined) {
      tokens = Math.min(this.limit.burst, bucket.tokens + ((now - bucket.updatedMs) / 1000) * this.limit.perSecond);
      // Re-inserted below, so that Map order is least recently used first.
      this.buckets.delete(source);
    } else if (this.buckets.size >= this.maxSources) {
      this.buckets.delete(this.buckets.keys().next().value as string);
    }
    const allowed = tokens >= 1;
    this.buckets.set(source, { tokens: allowed ? tokens - 1 : tokens, updatedMs: now });
    return allowed;
  }
}

export interface SideEffectGuardOptions {
  requireAuthenticatedCaller: boolean;
  rate?: RateLimit;
  metrics?: SecurityMetrics;
  now?: () => number;
}

/** sideEffectRefusal and the per-source rate limit of each effect, with what they refuse counted. */
export class SideEffectGuard {
  private readonly requireAuthenticatedCaller: boolean;
  private readonly limiters: Record<SideEffect, SourceRateLimiter>;
  private readonly metrics?: SecurityMetrics;

  constructor(options: SideEffectGuardOptions) {
    this.requireAuthenticatedCaller = options.requireAuthenticatedCaller;
    const rate = options.rate ?? DEFAULT_SIDE_EFFECT_RATE;
    this.limiters = { event: new SourceRateLimiter(rate, options.now), reservation: new SourceRateLimiter(rate, options.now) };
    this.metrics = options.metrics;
  }

  /** May this decision write `effect` at all? */
  isBelievable(effect: SideEffect, attempt: EvictionAttempt, podUid: string | undefined, origin: RequestOrigin | undefined): boolean {
    const refusal = sideEffectRefusal({ attempt, podUid, origin, requireAuthenticatedCaller: this.requireAuthenticatedCaller });
    if (refusal !== undefined) this.metrics?.countSideEffectSkipped(effect, refusal);
    return refusal === undefined;
  }

  /** isBelievable, then admit: for an effect that writes every time (a reservation). */
  mayWrite(effect: SideEffect, attempt: EvictionAttempt, podUid: string | undefined, origin: RequestOrigin | undefined): boolean {
    return this.isBelievable(effect, attempt, podUid, origin) && this.admit(effect, origin);
  }

  /** One more write of `effect` for the origin's source address, within its rate. */
  admit(effect: SideEffect, origin: RequestOrigin | undefined): boolean {
    const admitted = this.limiters[effect].take(origin?.sourceAddress ?? 'unknown');
    if (!admitted) this.metrics?.countSideEffectSkipped(effect, 'rate-limited');
    return admitted;
  }
}
