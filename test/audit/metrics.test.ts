// The metrics of one webhook, read through the Prometheus text format as a scraper sees them.
import { combineFindings } from '../../src/decide';
import { ADMISSION_DURATION_BUCKETS, certificateNotAfter, WebhookMetrics } from '../../src/audit/metrics';
import { makeTestCertificate } from '../helpers/tls';

const deny = combineFindings([
  { check: 'pdb/budget', action: 'deny', code: 429, message: 'PDB shop/web-pdb allows 0 disruptions.' },
  { check: 'policy/night/window', action: 'warn', message: 'outside the window' },
]);
const allow = combineFindings([{ check: 'pdb/budget', action: 'audit', message: 'PDB shop/web-pdb allows 1 disruption(s).' }]);

async function text(metrics: WebhookMetrics): Promise<string> {
  return (await metrics.scrape()).body;
}

describe('WebhookMetrics', () => {
  it('counts decisions by decision, code and dry run, and findings by check and action', async () => {
    const metrics = new WebhookMetrics();
    metrics.observeDecision(deny, false, 0.0004);
    metrics.observeDecision(deny, true, 0.003);
    metrics.observeDecision(allow, false, 0.2);
    const body = await text(metrics);
    expect(body).toContain('evictionguard_admission_requests_total{decision="deny",code="429",dry_run="false"} 1');
    expect(body).toContain('evictionguard_admission_requests_total{decision="deny",code="429",dry_run="true"} 1');
    expect(body).toContain('evictionguard_admission_requests_total{decision="allow",code="200",dry_run="false"} 1');
    expect(body).toContain('evictionguard_findings_total{check="pdb/budget",action="deny"} 2');
    expect(body).toContain('evictionguard_findings_total{check="policy/night/window",action="warn"} 2');
    expect(body).toContain('evictionguard_findings_total{check="pdb/budget",action="audit"} 1');
    expect(body).toContain('evictionguard_admission_duration_seconds_bucket{le="0.0005"} 1');
    expect(body).toContain('evictionguard_admission_duration_seconds_bucket{le="0.005"} 2');
    expect(body).toContain('evictionguard_admission_duration_seconds_bucket{le="0.25"} 3');
    expect(body).toContain('evictionguard_admission_duration_seconds_count 3');
  });

  it('reports the same counts however often it is scraped, and counts on between scrapes', async () => {
    const metrics = new WebhookMetrics();
    metrics.observeDecision(allow, false, 0.001);
    await text(metrics);
    expect(await text(metrics)).toContain('evictionguard_admission_requests_total{decision="allow",code="200",dry_run="false"} 1');
    metrics.observeDecision(allow, false, 0.001);
    const body = await text(metrics);
    expect(body).toContain('evictionguard_admission_requests_total{decision="allow",code="200",dry_run="false"} 2');
    expect(body).toContain('evictionguard_findings_total{check="pdb/budget",action="audit"} 2');
  });

  it('counts a policy check that could not be evaluated as a policy error', async () => {
    const metrics = new WebhookMetrics();
    const failed = combineFindings([{ check: 'policy/guard/cel', action: 'deny', code: 403, message: 'no such key', evaluationFailed: true }]);
    metrics.observeDecision(failed, false, 0.001);
    metrics.observeDecision(deny, false, 0.001);
    expect(await text(metrics)).toContain('evictionguard_policy_errors_total 1');
  });

  it('counts PDB guard reviews by decision, apart from eviction reviews, and their findings', async () => {
    const metrics = new WebhookMetrics();
    const warned = combineFindings([{ check: 'pdb-guard/overlapping-pdbs', action: 'warn', message: 'overlap', warning: 'overlap' }]);
    const denied = combineFindings([{ check: 'pdb-guard/never-allows', action: 'deny', code: 403, message: 'never' }]);
    metrics.observePdbReview(warned);
    metrics.observePdbReview(denied);
    metrics.observePdbReview(combineFindings([]));
    const body = await text(metrics);
    expect(body).toContain('evictionguard_pdb_guard_reviews_total{decision="warn"} 1');
    expect(body).toContain('evictionguard_pdb_guard_reviews_total{decision="deny"} 1');
    expect(body).toContain('evictionguard_pdb_guard_reviews_total{decision="allow"} 1');
    expect(body).toContain('evictionguard_findings_total{check="pdb-guard/overlapping-pdbs",action="warn"} 1');
    expect(body).not.toContain('evictionguard_admission_requests_total{');
  });

  it('counts reservation steps by result and their conflicts, every result from the first scrape', async () => {
    const metrics = new WebhookMetrics();
    const fresh = await text(metrics);
    expect(fresh).toContain('evictionguard_reservations_total{result="failed"} 0');
    expect(fresh).toContain('evictionguard_reservation_conflicts_total 0');
    metrics.observeReservation({ result: 'reserved', scopes: ['node/node-a'], attempts: 3, conflicts: 2 });
    metrics.observeReservation({ result: 'denied', scopes: ['node/node-a'], attempts: 1, conflicts: 0 });
    const body = await text(metrics);
    expect(body).toContain('evictionguard_reservations_total{result="reserved"} 1');
    expect(body).toContain('evictionguard_reservations_total{result="denied"} 1');
    expect(body).toContain('evictionguard_reservation_conflicts_total 2');
  });

  it('has buckets from 0.5 ms to 5 s', () => {
    expect(ADMISSION_DURATION_BUCKETS[0]).toBe(0.0005);
    expect(ADMISSION_DURATION_BUCKETS[ADMISSION_DURATION_BUCKETS.length - 1]).toBe(5);
    expect([...ADMISSION_DURATION_BUCKETS].sort((a, b) => a - b)).toEqual(ADMISSION_DURATION_BUCKETS);
  });

  it('reads the sync state at scrape time', async () => {
    const metrics = new WebhookMetrics();
    let synced = false;
    metrics.trackClusterSync(() => synced);
    expect(await text(metrics)).toContain('evictionguard_cluster_synced 0');
    synced = true;
    expect(await text(metrics)).toContain('evictionguard_cluster_synced 1');
  });

  it('counts watch restarts by resource and policy errors', async () => {
    const metrics = new WebhookMetrics();
    expect(await text(metrics)).toContain('evictionguard_policy_errors_total 0');
    metrics.countWatchRestart('pods');
    metrics.countWatchRestart('pods');
    metrics.countWatchRestart('poddisruptionbudgets');
    metrics.countPolicyError();
    const body = await text(metrics);
    expect(body).toContain('evictionguard_watch_restarts_total{resource="pods"} 2');
    expect(body).toContain('evictionguard_watch_restarts_total{resource="poddisruptionbudgets"} 1');
    expect(body).toContain('evictionguard_policy_errors_total 1');
  });

  it('reports the serving certificate expiry from its PEM', async () => {
    const { cert } = makeTestCertificate({ validDays: 30 });
    const metrics = new WebhookMetrics();
    metrics.setCertExpiryFromPem(cert);
    const notAfter = certificateNotAfter(cert);
    expect(Math.abs(notAfter.getTime() - (Date.now() + 30 * 86_400_000))).toBeLessThan(120_000);
    expect(await text(metrics)).toContain(`evictionguard_cert_expiry_timestamp_seconds ${notAfter.getTime() / 1000}`);
  });

  it('keeps each webhook in its own registry, with the process metrics in every scrape', async () => {
    const one = new WebhookMetrics();
    const two = new WebhookMetrics();
    one.observeDecision(deny, false, 0.001);
    expect(await text(one)).toContain('evictionguard_admission_requests_total{decision="deny"');
    expect(await text(two)).not.toContain('evictionguard_admission_requests_total{');
    for (const metrics of [one, two]) {
      const body = await text(metrics);
      expect(body).toContain('# TYPE process_cpu_user_seconds_total counter');
      expect(body).toContain('# TYPE nodejs_eventloop_lag_seconds gauge');
    }
    expect((await one.scrape()).contentType).toMatch(/^text\/plain; version=0\.0\.4/);
  });
});
