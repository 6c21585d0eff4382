// The monitoring shipped with the install (charts/eviction-guard/files/): promtool checks the
// alerting rules and runs their unit tests (prometheus-rules.test.yaml); every rule and dashboard
// expression parses and uses only metrics and labels that the webhook (scraped from a running one)
// or the API server exports; every alert has a runbook in docs/operations.md and a unit test that
// makes it fire; the dashboard is a well-formed Grafana dashboard; and the kustomize component's
// generated copies are current.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { createLogger } from '../../src/audit/logger';
import { startWebhook, type RunningWebhook } from '../../src/cli/serve';
import { demoClusterView } from '../../src/cluster/snapshot';
import { evictionReview, pdbCreateReview } from '../admission/reviews';
import { anchorsOf } from '../docs/markdown-links';
import { httpGet, useServingPairDir, waitFor } from '../e2e/harness';
import { findPromtool } from '../helpers/tools';
import { makeTestCertificate } from '../helpers/tls';
import { httpsCall, postJson } from '../server/https-client';
import { grafanaToPromql, promqlNames } from './promql';

const REPO = path.resolve(__dirname, '../..');
const RULES_FILE = path.join(REPO, 'charts/eviction-guard/files/prometheus-rules.yaml');
const RULE_TESTS_FILE = path.join(__dirname, 'prometheus-rules.test.yaml');
const DASHBOARD_FILE = path.join(REPO, 'charts/eviction-guard/files/grafana-dashboard.json');
const OPERATIONS_DOC = path.join(REPO, 'docs/operations.md');
const RUNBOOK_BASE = 'https://github.com/eviction-guard/eviction-guard/blob/main/docs/operations.md#';

/** The API server's admission webhook metrics and their labels (k8s.io/apiserver/pkg/admission/metrics/metrics.go). */
const API_SERVER_METRICS: Record<string, string[]> = {
  apiserver_admission_webhook_fail_open_count: ['name', 'type'],
  apiserver_admission_webhook_rejection_count: ['name', 'type', 'operation', 'error_type', 'rejection_code'],
};
/** Labels Prometheus adds to every scraped series (the Prometheus Operator adds the Kubernetes ones). */
const TARGET_LABELS = ['instance', 'job', 'namespace', 'pod', 'service', 'endpoint', 'container'];

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
const rules: Rule[] = (YAML.parse(readFileSync(RULES_FILE, 'utf8')) as { groups: { rules: Rule[] }[] }).groups.flatMap((group) => group.rules);
const alerts = rules.filter((rule) => rule.alert !== undefined);

interface Panel {
  id: number;
  type: string;
  title: string;
  description?: string;
  datasource?: { type: string; uid: string };
  gridPos: { h: number; w: number; x: number; y: number };
  targets?: { refId: string; expr: string; datasource?: unknown }[];
}
const dashboard = JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')) as { uid: string; title: string; schemaVersion: number; panels: Panel[]; templating: { list: { name: string; type: string; query: string }[] } };
const queries = dashboard.panels.flatMap((panel) => (panel.targets ?? []).map((target) => ({ where: `panel "${panel.title}" ${target.refId}`, expr: grafanaToPromql(target.expr) })));
const expressions = [...rules.map((rule) => ({ where: `rule ${rule.alert ?? rule.record}`, expr: rule.expr })), ...queries];

// ---- What a running webhook exports ----------------------------------------------------------

const tls = makeTestCertificate();
const servingDir = useServingPairDir('monitoring-', tls);
let webhook: RunningWebhook;
/** Every series name the webhook exports (histograms by their _bucket, _sum and _count), with the labels its samples carry. */
const exported = new Map<string, Set<string>>();

beforeAll(async () => {
  webhook = await startWebhook(
    {
      port: 0,
      tlsCert: path.join(servingDir.path, 'tls.crt'),
      tlsKey: path.join(servingDir.path, 'tls.key'),
      certDir: servingDir.path,
      logLevel: 'silent',
      metricsPort: 0,
      metricsAddress: '127.0.0.1',
      pdbLintIntervalMs: 60_000,
    },
    createLogger('silent'),
    demoClusterView(),
  );
  // One denied and one allowed eviction, and one PDB review, so that the labelled series have samples.
  for (const pod of ['web-7d9c5b7f6-x2x9k', 'api-6f4b8c9d7-l5j8n']) {
    const review = evictionReview();
    Object.assign(review.request, { name: pod, namespace: 'shop' });
    await postJson(webhook.port, tls.cert, review);
  }
  await postJson(webhook.port, tls.cert, pdbCreateReview({ minAvailable: 1, selector: { matchLabels: { app: 'web' } } }));
  await waitFor('the first lint pass', async () => (await httpsCall({ port: webhook.port, ca: tls.cert, path: '/pdb-findings' })).status === 200);
  const text = (await httpGet(webhook.metricsPort!, '/metrics')).text;
  for (const [, name, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    const series = type === 'histogram' ? [`${name}_bucket`, `${name}_sum`, `${name}_count`] : type === 'summary' ? [name, `${name}_sum`, `${name}_count`] : [name];
    for (const each of series) exported.set(each, new Set());
  }
  for (const [, name, labels] of text.matchAll(/^([a-zA-Z_:][\w:]*)\{([^}]*)\} /gm)) {
    for (const [, label] of labels.matchAll(/(\w+)="/g)) exported.get(name)?.add(label);
  }
}, 30_000);
afterAll(() => webhook?.close());

// ---- promtool ---------------------------------------------------------------------------------

const promtool = findPromtool();
if (promtool === undefined) console.warn('SKIPPING promtool checks of the alerting rules: promtool is not installed (.ci/run installs it; or set PROMTOOL)');
const describeWithPromtool = promtool ? describe : describe.skip;

describeWithPromtool('promtool', () => {
  const run = (...args: string[]) => spawnSync(promtool!, args, { cwd: __dirname, encoding: 'utf8' });

  it('checks the rules file', () => {
    const result = run('check', 'rules', RULES_FILE);
    expect([result.status, result.stderr]).toEqual([0, '']);
    expect(result.stdout).toContain(`SUCCESS: ${rules.length} rules found`);
  });

  it('passes the unit tests of every alert', () => {
    const result = run('test', 'rules', path.basename(RULE_TESTS_FILE));
    expect([result.status, `${result.stdout}${result.stderr}`]).toEqual([0, expect.stringContaining('SUCCESS')]);
  });
});

// ---- The rules ----------------------------------------------------------------------------------

describe('the alerting rules', () => {
  const unitTests = YAML.parse(readFileSync(RULE_TESTS_FILE, 'utf8')) as { tests: { alert_rule_test?: { alertname: string; exp_alerts: unknown[] }[] }[] };
  const cases = unitTests.tests.flatMap((test) => test.alert_rule_test ?? []);

  it('alert on each condition the install promises', () => {
    expect(alerts.map((alert) => alert.alert)).toEqual([
      'EvictionGuardDown',
      'EvictionGuardNotReady',
      'EvictionGuardWebhookFailingOpen',
      'EvictionGuardWebhookCallsRejected',
      'EvictionGuardDenialSpike',
      'EvictionGuardDrainStuck',
      'EvictionGuardPdbBlocksDrains',
      'EvictionGuardCertificateExpiringSoon',
    ]);
  });

  it.each(alerts.map((alert) => [alert.alert!, alert] as const))('%s has a severity, a summary, a description and a runbook in docs/operations.md', (name, alert) => {
    expect(['critical', 'warning']).toContain(alert.labels?.severity);
    expect(alert.annotations?.summary).toEqual(expect.any(String));
    expect(alert.annotations?.description).toEqual(expect.any(String));
    expect(alert.annotations?.runbook_url).toBe(`${RUNBOOK_BASE}${name.toLowerCase()}`);
    expect([...anchorsOf(readFileSync(OPERATIONS_DOC, 'utf8'))]).toContain(name.toLowerCase());
  });

  it.each(alerts.map((alert) => alert.alert!))('%s has a unit test in which it fires, and one in which it does not', (name) => {
    const ofAlert = cases.filter((entry) => entry.alertname === name);
    expect(ofAlert.some((entry) => entry.exp_alerts.length > 0)).toBe(true);
    expect(ofAlert.some((entry) => entry.exp_alerts.length === 0)).toBe(true);
  });

  it('select the API server metrics of this webhook by its entries\' names, which the install fixes', () => {
    const apiServerRules = rules.filter((rule) => rule.expr.includes('apiserver_'));
    expect(apiServerRules.length).toBeGreaterThan(0);
    for (const rule of apiServerRules) expect(rule.expr).toContain('name=~"evictions\\\\.evictionguard\\\\.io|pdbs\\\\.evictionguard\\\\.io"');
  });
});

// ---- Every expression ---------------------------------------------------------------------------

describe('every PromQL expression of the rules and the dashboard', () => {
  it('has been found', () => {
    expect(queries.length).toBeGreaterThanOrEqual(15);
  });

  it.each(expressions.map(({ where, expr }) => [where, expr]))('%s parses and uses metrics and labels that exist', (_where, expr) => {
    const { errors, metrics, labels } = promqlNames(expr);
    expect(errors).toEqual([]);
    expect(metrics.length).toBeGreaterThan(0);
    for (const metric of metrics) expect([metric, exported.has(metric) || metric in API_SERVER_METRICS]).toEqual([metric, true]);
    // A label is known when one of the expression's metrics carries it, or Prometheus adds it.
    const known = new Set([...TARGET_LABELS, ...metrics.flatMap((metric) => [...(exported.get(metric) ?? []), ...(API_SERVER_METRICS[metric] ?? [])])]);
    const unsampled = metrics.some((metric) => exported.has(metric) && exported.get(metric)!.size === 0);
    if (!unsampled) for (const label of labels) expect([label, known.has(label)]).toEqual([label, true]);
  });
});

// ---- The dashboard ------------------------------------------------------------------------------

describe('the Grafana dashboard', () => {
  const nonRows = dashboard.panels.filter((panel) => panel.type !== 'row');

  it('has a stable uid, a title and a Prometheus data source variable every query uses', () => {
    expect(dashboard).toMatchObject({ uid: 'eviction-guard', title: 'eviction-guard' });
    expect(dashboard.templating.list).toEqual([expect.objectContaining({ name: 'datasource', type: 'datasource', query: 'prometheus' })]);
    for (const panel of nonRows) {
      expect([panel.title, panel.datasource]).toEqual([panel.title, { type: 'prometheus', uid: '${datasource}' }]);
      for (const target of panel.targets ?? []) expect(target.datasource).toEqual(panel.datasource);
    }
  });

  it('has unique panel ids, panels inside the 24-column grid that do not overlap, and queries with unique refIds', () => {
    const ids = dashboard.panels.map((panel) => panel.id);
    expect(new Set(ids).size).toBe(ids.length);
    const cells = new Set<string>();
    for (const { title, gridPos } of dashboard.panels) {
      expect([title, gridPos.x >= 0 && gridPos.w > 0 && gridPos.x + gridPos.w <= 24 && gridPos.h > 0]).toEqual([title, true]);
      for (let x = gridPos.x; x < gridPos.x + gridPos.w; x++) {
        for (let y = gridPos.y; y < gridPos.y + gridPos.h; y++) {
          expect([title, cells.has(`${x},${y}`)]).toEqual([title, false]);
          cells.add(`${x},${y}`);
        }
      }
    }
    for (const panel of nonRows) {
      const refIds = (panel.targets ?? []).map((target) => target.refId);
      expect([panel.title, refIds.length > 0 && new Set(refIds).size === refIds.length]).toEqual([panel.title, true]);
    }
  });

  it.each([
    ['decisions by result and check', ['evictionguard_admission_requests_total', 'evictionguard_findings_total']],
    ['latency quantiles from the histogram', ['evictionguard_admission_duration_seconds_bucket']],
    ['denials by check and namespace', ['evictionguard_denials_total']],
    ['watch restarts and sync state', ['evictionguard_watch_restarts_total', 'evictionguard_cluster_synced']],
    ['certificate expiry', ['evictionguard_cert_expiry_timestamp_seconds']],
    ['PDB findings', ['evictionguard_pdb_findings']],
    ['the API server failing its calls', ['apiserver_admission_webhook_fail_open_count', 'apiserver_admission_webhook_rejection_count']],
  ])('shows %s', (_what, metrics) => {
    const used = new Set(queries.flatMap(({ expr }) => promqlNames(expr).metrics));
    for (const metric of metrics) expect([metric, used.has(metric)]).toEqual([metric, true]);
  });

  it('shows the latency quantiles from the histogram, with the buckets summed before histogram_quantile', () => {
    const latency = queries.filter(({ expr }) => expr.includes('evictionguard_admission_duration_seconds_bucket'));
    expect(latency.map(({ expr }) => /^histogram_quantile\((0\.\d+), sum by \(le\) \(rate\(/.exec(expr)?.[1])).toEqual(['0.5', '0.9', '0.99']);
  });
});

describe('the kustomize monitoring component', () => {
  it('holds current copies of the chart files (node scripts/sync-monitoring.js --check)', () => {
    const result = spawnSync(process.execPath, [path.join(REPO, 'scripts/sync-monitoring.js'), '--check'], { encoding: 'utf8' });
    expect([result.status, result.stderr]).toEqual([0, '']);
  });
});
