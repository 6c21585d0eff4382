// Who may read what only operators may read: the bearer token's user, as the API server
// authenticates it (TokenReview), allowed `get` on the path as the API server authorizes it
// (SubjectAccessReview on a non-resource URL). Answers are cached briefly, as k8s.io/apiserver's
// delegating authenticator and authorizer cache theirs (10 s), keyed by a hash of the token.
import { createHash } from 'node:crypto';
import { describeError } from '../cluster/errors';
import type { AccessReviews, NonResourceRequest } from './access-review';

export type AccessDecision =
  | { outcome: 'allowed'; user: string }
  /** No token, or one the API server does not accept: 401. */
  | { outcome: 'unauthenticated'; problem: string }
  /** A valid token whose user may not get the path: 403. */
  | { outcome: 'forbidden'; user: string; reason?: string }
  /** The API server could not be asked: 503, never cached. */
  | { outcome: 'unavailable'; problem: string }
  /** Too many reviews in flight already: 429, never cached. */
  | { outcome: 'busy'; problem: string };

export type AccessOutcome = AccessDecision['outcome'];

/** k8s.io/apiserver's delegating authenticator and authorizer cache both answers for 10 s. */
export const DEFAULT_ACCESS_CACHE_TTL_MS = 10_000;
/** Distinct (token, path) answers kept; beyond, the oldest is forgotten. */
export const DEFAULT_ACCESS_CACHE_SIZE = 1024;
/**
 * Reviews waiting on the API server at once. Each unknown token costs a TokenReview made with the
 * webhook's own credentials, so a flood of made-up tokens would spend the webhook's API priority and
 * fairness share, which its confirm reads need on the eviction path.
 */
export const DEFAULT_MAX_REVIEWS_IN_FLIGHT = 16;

export interface DelegatedAccessOptions {
  reviews: AccessReviews;
  ttlMs?: number;
  maxEntries?: number;
  maxInFlight?: number;
  now?: () => number;
}

interface CachedDecision {
  decision: AccessDecision;
  expiresAt: number;
}

const VERB = 'get';

/** A key that identifies the token without holding it: the cache never keeps a token, and a heap dump shows none. */
function cacheKey(token: string, path: string): string {
  return `${createHash('sha256').update(token).digest('base64url')} ${path}`;
}

export class DelegatedAccess {
  private readonly reviews: AccessReviews;
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  private readonly maxInFlight: number;
  private readonly now: () => number;
  /** Insertion order is age order: the first entry is the oldest. */
  private readonly cache = new Map<string, CachedDecision>();
  /** One review per key at a time: concurrent requests with the same token wait for the same answer. */
  private readonly inFlight = new Map<string, Promise<AccessDecision>>();

  constructor(options: DelegatedAccessOptions) {
    this.reviews = options.reviews;
    this.ttlMs = options.ttlMs ?? DEFAULT_ACCESS_CACHE_TTL_MS;
    this.maxEntries = options.maxEntries ?? DEFAULT_ACCESS_CACHE_SIZE;
    this.maxInFlight = options.maxInFlight ?? DEFAULT_MAX_REVIEWS_IN_FLIGHT;
    this.now = options.now ?? Date.now;
  }

  /** Answers cached now. */
  get cached(): number {
    return this.cache.size;
  }

  /** May the bearer of `token` get `path`? Never throws. */
  decide(token: string | undefined, path: string): Promise<AccessDecision> {
    if (token === undefined || token === '') return Promise.resolve({ outcome: 'unauthenticated', problem: 'no bearer token' });
    const key = cacheKey(token, path);
    const hit = this.cache.get(key);
    if (hit !== undefined && hit.expiresAt > this.now()) return Promise.resolve(hit.decision);
    if (hit !== undefined) this.cache.delete(key);

    const pending = this.inFlight.get(key);
    if (pending !== undefined) return pending;
    if (this.inFlight.size >= this.maxInFlight) {
      return Promise.resolve({ outcome: 'busy', problem: `${this.inFlight.size} access reviews are waiting on the API server already` });
    }
    const review = this.review(token, { path, verb: VERB }).then((decision) => {
      this.inFlight.delete(key);
      if (decision.outcome !== 'unavailable' && decision.outcome !== 'busy') this.remember(key, decision);
      return decision;
    });
    this.inFlight.set(key, review);
    return review;
  }

  private async review(token: string, request: NonResourceRequest): Promise<AccessDecision> {
    let user;
    try {
      user = await this.reviews.reviewToken(token);
    } catch (error) {
      return { outcome: 'unavailable', problem: `TokenReview failed: ${describeError(error)}` };
    }
    if (user === undefined) return { outcome: 'unauthenticated', problem: 'the API server did not accept the token' };
    let answer;
    try {
      answer = await this.reviews.reviewAccess(user, request);
    } catch (error) {
      return { outcome: 'unavailable', problem: `SubjectAccessReview failed: ${describeError(error)}` };
    }
    if (answer.allowed) return { outcome: 'allowed', user: user.username };
    return { outcome: 'forbidden', user: user.username, ...(answer.reason === undefined ? {} : { reason: answer.reason }) };
  }

  private remember(key: string, decision: AccessDecision): void {
    this.cache.delete(key);
    while (this.cache.size >= this.maxEntries) {
      const oldest = this.cache.keys().next().value as string;
      this.cache.delete(oldest);
    }
    this.cache.set(key, { decision, expiresAt: this.now() + this.ttlMs });
  }
}
