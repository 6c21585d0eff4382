// Continuous PDB health end to end: startWebhook watching a fake API server lints the PDBs it
// holds, serves them on GET /pdb-findings over HTTPS and counts them in the gauges, and lints again
// shortly after a PDB changes, long before the interval.
import type { ServeOptions } from '../../src/cli/serve';
import type { PdbHealthReport } from '../../src/lint/pdb-health';
import { pdbObject } from '../helpers/objects';
import { makeTestCertificate } from '../helpers/tls';
import { httpsCall } from '../server/https-client';
import { httpGet, operatorHeaders, samples, useServingPairDir, useWebShopCluster, waitFor } from './harness';

const tls = makeTestCertificate();
const servingDir = useServingPairDir('e2e-pdb-health-', tls);
const cluster = useWebShopCluster(servingDir);
const start = (overrides: Partial<ServeOptions>) => cluster.start({ metricsPort: 0, metricsAddress: '127.0.0.1', ...overrides });

const findings = async () => {
  const reply = await httpsCall({ port: cluster.webhook.port, ca: tls.cert, path: '/pdb-findings', headers: operatorHeaders(cluster.fake) });
  return { status: reply.status, cacheControl: reply.headers['cache-control'], report: JSON.parse(reply.text) as PdbHealthReport };
};
const gauges = async () => samples((await httpGet(cluster.webhook.metricsPort!, '/metrics')).text, 'evictionguard_pdb_findings');

describe('continuous PDB lint in the webhook', () => {
  it('serves the findings of its own cluster view and lints again soon after a PDB change', async () => {
    await start({ pdbLintIntervalMs: 60_000, pdbLintTuning: { debounceMs: 50 } });
    await waitFor('the first pass', async () => (await findings()).status === 200);
    const first = await findings();
    expect(first.cacheControl).toBe('no-store');
    expect(first.report).toMatchObject({ source: 'the cluster', pdbs: 1, findings: [], counts: { error: 0, warning: 0, info: 0 } });

    cluster.fake.upsert(pdbObject('shop', 'web-ha-pdb', { selector: { matchExpressions: [{ key: 'app', operator: 'In', values: ['web', 'api'] }] }, minAvailable: 1 }));
    cluster.fake.upsert(pdbObject('shop', 'db-pdb', { selector: { matchLabels: { app: 'web' } }, maxUnavailable: 0 }));
    // Well within the 60 s interval: the change, not the clock, triggered the pass.
    await waitFor('the pass after the change', async () => (await findings()).report.pdbs === 3, 5000);
    const { report } = await findings();
    expect(report.findings.map((finding) => [finding.check, `${finding.namespace}/${finding.name}`])).toEqual([
      ['lint/never-allows', 'shop/db-pdb'],
      ['lint/overlapping-pdbs', 'shop/db-pdb'],
    ]);
    expect(report.findings[1].pdbs).toEqual(['shop/web-ha-pdb', 'shop/web-pdb']);
    expect(await gauges()).toEqual(
      expect.arrayContaining([
        { labels: { check: 'lint/overlapping-pdbs', severity: 'error' }, value: 1 },
        { labels: { check: 'lint/never-allows', severity: 'error' }, value: 1 },
      ]),
    );

    expect(cluster.fake.remove('PodDisruptionBudget', 'shop', 'db-pdb')).toBe(true);
    expect(cluster.fake.remove('PodDisruptionBudget', 'shop', 'web-ha-pdb')).toBe(true);
    await waitFor('the pass after the deletions', async () => (await findings()).report.pdbs === 1, 5000);
    expect((await gauges()).map((sample) => sample.value)).toEqual([0, 0]);
  });

  it('has neither /pdb-findings nor the gauges with --pdb-lint-interval off', async () => {
    const webhook = await start({ pdbLintIntervalMs: 'off' });
    expect((await httpsCall({ port: webhook.port, ca: tls.cert, path: '/pdb-findings' })).status).toBe(404);
    expect(await gauges()).toEqual([]);
  });
});
