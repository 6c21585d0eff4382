import { Registry } from 'prom-client';
import type { EvictionAttempt, RequestOrigin } from '../../src/domain';
import { SecurityMetrics } from '../../src/security/metrics';
import { sideEffectRefusal, SideEffectGuard, SourceRateLimiter, type SideEffectFacts } from '../../src/security/side-effects';

const attempt = (overrides: Partial<EvictionAttempt> = {}): EvictionAttempt => ({
  uid: 'review-1',
  namespace: 'shop',
  podName: 'web-1',
  evictionVersion: 'policy/v1',
  requester: { username: 'alice', groups: [] },
  dryRun: false,
  ...overrides,
});
const apiServer: RequestOrigin = { caller: 'CN=kube-apiserver', authenticated: true, sourceAddress: '10.0.0.1' };
const anyone: RequestOrigin = { caller: 'unauthenticated', authenticated: false, sourceAddress: '10.244.1.7' };

describe('sideEffectRefusal', () => {
  const facts = (overrides: Partial<SideEffectFacts>): SideEffectFacts => ({ attempt: attempt(), podUid: 'uid-web-1', origin: anyone, requireAuthenticatedCaller: false, ...overrides });

  it.each<[string, Partial<SideEffectFacts>, ReturnType<typeof sideEffectRefusal>]>([
    ['an existing pod, mTLS off', {}, undefined],
    ['an existing pod whose uid the client named', { attempt: attempt({ preconditionUid: 'uid-web-1' }) }, undefined],
    ['a verified caller under mTLS', { origin: apiServer, requireAuthenticatedCaller: true }, undefined],
    ['a pod that does not exist', { podUid: undefined }, 'pod-not-found'],
    ['a pod that does not exist, even from a verified caller', { podUid: undefined, origin: apiServer, requireAuthenticatedCaller: true }, 'pod-not-found'],
    ['a uid precondition naming another pod', { attempt: attempt({ preconditionUid: 'uid-of-a-deleted-pod' }) }, 'uid-mismatch'],
    ['an unauthenticated caller under mTLS', { requireAuthenticatedCaller: true }, 'unauthenticated'],
    ['a caller that did not say who it is, under mTLS', { origin: undefined, requireAuthenticatedCaller: true }, 'unauthenticated'],
  ])('%s: %s', (_case, overrides, expected) => {
    expect(sideEffectRefusal(facts(overrides))).toBe(expected);
  });
});

describe('SourceRateLimiter', () => {
  it('lets each source spend its burst, then perSecond, apart from the others', () => {
    let clock = 0;
    const limiter = new SourceRateLimiter({ perSecond: 2, burst: 3 }, () => clock);
    expect([1, 2, 3, 4].map(() => limiter.take('10.244.1.7'))).toEqual([true, true, true, false]);
    expect(limiter.take('10.0.0.1')).toBe(true);
    clock += 500;
    expect([limiter.take('10.244.1.7'), limiter.take('10.244.1.7')]).toEqual([true, false]);
    clock += 10_000;
    expect([1, 2, 3, 4].map(() => limiter.take('10.244.1.7'))).toEqual([true, true, true, false]);
  });

  it('tracks at most maxSources, forgetting the least recently seen', () => {
    const limiter = new SourceRateLimiter({ perSecond: 1, burst: 1 }, () => 0, 2);
    expect(limiter.take('a')).toBe(true);
    expect(limiter.take('b')).toBe(true);
    expect(limiter.take('a')).toBe(false);
    // c pushes out b (a was seen more recently); b starts again with a full bucket.
    expect(limiter.take('c')).toBe(true);
    expect(limiter.take('b')).toBe(true);
    expect(limiter.take('a')).toBe(true);
  });

  it('refuses a limit that admits nothing', () => {
    expect(() => new SourceRateLimiter({ perSecond: 0, burst: 5 })).toThrow(RangeError);
    expect(() => new SourceRateLimiter({ perSecond: 1, burst: 0 })).toThrow(RangeError);
  });
});

describe('SideEffectGuard', () => {
  async function skipped(registry: Registry): Promise<Record<string, number>> {
    const metric = await registry.getSingleMetric('evictionguard_side_effects_skipped_total')!.get();
    return Object.fromEntries(metric.values.filter((sample) => sample.value > 0).map((sample) => [`${sample.labels.effect}/${sample.labels.reason}`, sample.value]));
  }

  it('counts what it refuses by effect and reason', async () => {
    const registry = new Registry();
    const guard = new SideEffectGuard({ requireAuthenticatedCaller: true, rate: { perSecond: 1, burst: 1 }, metrics: new SecurityMetrics(registry), now: () => 0 });

    expect(guard.isBelievable('event', attempt(), 'uid-web-1', apiServer)).toBe(true);
    expect(guard.isBelievable('event', attempt(), undefined, apiServer)).toBe(false);
    expect(guard.isBelievable('reservation', attempt(), 'uid-web-1', anyone)).toBe(false);
    expect(guard.admit('event', apiServer)).toBe(true);
    expect(guard.admit('event', apiServer)).toBe(false);
    // Each effect has its own buckets.
    expect(guard.admit('reservation', apiServer)).toBe(true);

    expect(await skipped(registry)).toEqual({ 'event/pod-not-found': 1, 'reservation/unauthenticated': 1, 'event/rate-limited': 1 });
  });
});
