// Denials by namespace and check, and the streaks behind the "drain stuck" alert.
import { Registry } from 'prom-client';
import { DenialMetrics, DenialStreaks, MAX_NAMESPACE_LABELS, STREAK_IDLE_MS } from '../../src/audit/denial-metrics';
import { combineFindings } from '../../src/decide';
import { attemptFor } from '../helpers/facts';

const MINUTE = 60_000;
const budgetDenial = combineFindings([
  { check: 'pdb/budget', action: 'deny', code: 429, message: 'PDB shop/web-pdb allows 0 disruptions.' },
  { check: 'policy/night/window', action: 'warn', message: 'outside the window' },
]);
const twoDenials = combineFindings([
  { check: 'pdb/budget', action: 'deny', code: 429, message: 'PDB shop/web-pdb allows 0 disruptions.' },
  { check: 'policy/freeze/protect', action: 'deny', code: 403, message: 'frozen' },
]);
const allowed = combineFindings([]);

/** Denials of `pod` every 5 minutes (well within the idle time), from `from` to `to` minutes. */
function deniedEvery5Minutes(streaks: DenialStreaks, pod: string, from: number, to: number): void {
  for (let minute = from; minute < to; minute += 5) streaks.record(pod, false, minute * MINUTE);
  streaks.record(pod, false, to * MINUTE);
}

describe('DenialStreaks', () => {
  it('runs a streak from the first denial to the latest, and ends it with an allow', () => {
    const streaks = new DenialStreaks();
    deniedEvery5Minutes(streaks, 'shop/web-1', 0, 31);
    streaks.record('shop/web-2', false, 30 * MINUTE);
    expect(streaks.summary(31 * MINUTE)).toEqual({ pods: 2, longestSeconds: 31 * 60 });
    streaks.record('shop/web-1', true, 32 * MINUTE);
    expect(streaks.summary(32 * MINUTE)).toEqual({ pods: 1, longestSeconds: 0 });
  });

  it('does not grow a streak after its latest denial (the pod may have been evicted through another replica)', () => {
    const streaks = new DenialStreaks();
    deniedEvery5Minutes(streaks, 'shop/web-1', 0, 25);
    expect(streaks.summary(25 * MINUTE + STREAK_IDLE_MS)).toEqual({ pods: 1, longestSeconds: 25 * 60 });
  });

  it('forgets a pod not asked about for the idle time, and starts a new streak for it afterwards', () => {
    const streaks = new DenialStreaks();
    streaks.record('shop/web-1', false, 0);
    expect(streaks.summary(STREAK_IDLE_MS + 1)).toEqual({ pods: 0, longestSeconds: 0 });
    // A gap longer than the idle time starts a new streak.
    streaks.record('shop/web-2', false, 0);
    streaks.record('shop/web-2', false, STREAK_IDLE_MS + 1);
    streaks.record('shop/web-2', false, STREAK_IDLE_MS + 1 + 2 * MINUTE);
    expect(streaks.summary(STREAK_IDLE_MS + 1 + 2 * MINUTE)).toEqual({ pods: 1, longestSeconds: 2 * 60 });
  });

  it('holds at most its capacity of pods, dropping the least recently denied', () => {
    const streaks = new DenialStreaks(STREAK_IDLE_MS, 3);
    streaks.record('a/old', false, 0);
    for (const pod of ['a/1', 'a/2', 'a/3']) streaks.record(pod, false, MINUTE);
    streaks.record('a/1', false, 5 * MINUTE);
    expect(streaks.size).toBe(3);
    expect(streaks.summary(5 * MINUTE)).toEqual({ pods: 3, longestSeconds: 4 * 60 });
  });
});

describe('DenialMetrics', () => {
  function setup() {
    const registry = new Registry();
    let now = 0;
    const metrics = new DenialMetrics(registry, () => now);
    return { registry, metrics, at: (ms: number) => (now = ms) };
  }

  it('counts denied evictions by namespace and each denying check, never dry runs or allows', async () => {
    const { registry, metrics } = setup();
    metrics.observe(attemptFor('web-1'), budgetDenial);
    metrics.observe(attemptFor('web-2'), twoDenials);
    metrics.observe(attemptFor('db-0', { namespace: 'payments' }), budgetDenial);
    metrics.observe(attemptFor('web-3', { dryRun: true }), budgetDenial);
    metrics.observe(attemptFor('web-4'), allowed);
    const body = await registry.metrics();
    expect(body).toContain('evictionguard_denials_total{pod_namespace="shop",check="pdb/budget"} 2');
    expect(body).toContain('evictionguard_denials_total{pod_namespace="shop",check="policy/freeze/protect"} 1');
    expect(body).toContain('evictionguard_denials_total{pod_namespace="payments",check="pdb/budget"} 1');
    expect(body).not.toContain('policy/night/window');
  });

  it(`labels at most ${MAX_NAMESPACE_LABELS} namespaces and counts the rest as pod_namespace _other`, async () => {
    const { registry, metrics } = setup();
    for (let index = 0; index <= MAX_NAMESPACE_LABELS; index++) metrics.observe(attemptFor('web-1', { namespace: `team-${index}` }), budgetDenial);
    metrics.observe(attemptFor('web-1', { namespace: 'team-0' }), budgetDenial);
    const body = await registry.metrics();
    const namespaces = new Set([...body.matchAll(/evictionguard_denials_total\{pod_namespace="([^"]+)"/g)].map((match) => match[1]));
    expect(namespaces.size).toBe(MAX_NAMESPACE_LABELS + 1);
    expect(body).toContain(`evictionguard_denials_total{pod_namespace="_other",check="pdb/budget"} 1`);
    expect(body).toContain('evictionguard_denials_total{pod_namespace="team-0",check="pdb/budget"} 2');
  });

  it('exports the streaks of real (not dry-run) denials at scrape time, by pod count and longest duration', async () => {
    const { registry, metrics, at } = setup();
    const scrape = async () => {
      const body = await registry.metrics();
      const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(body)?.[1]);
      return { pods: value('evictionguard_denial_streak_pods'), longest: value('evictionguard_denial_streak_max_seconds') };
    };
    expect(await scrape()).toEqual({ pods: 0, longest: 0 });
    for (let minute = 0; minute <= 31; minute++) {
      at(minute * MINUTE);
      metrics.observe(attemptFor('web-1'), budgetDenial);
      metrics.observe(attemptFor('web-2', { dryRun: true }), budgetDenial);
    }
    expect(await scrape()).toEqual({ pods: 1, longest: 31 * 60 });
    metrics.observe(attemptFor('web-1'), allowed);
    expect(await scrape()).toEqual({ pods: 0, longest: 0 });
  });
});
