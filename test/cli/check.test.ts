import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseCheckOptions, renderDrainTable, runCheck, runDrainCheck, type CheckOptions } from '../../src/cli/check';
import { renderData } from '../../src/cli/render';
import { UsageError } from '../../src/cli/usage';
import { createLogger } from '../../src/audit/logger';
import { NODE_ORDER_ASSUMPTION, REPLACEMENT_ASSUMPTION, type DrainReport } from '../../src/drain/preflight';
import { captureStdout, expectGolden } from '../helpers/golden';
import { evictionPolicyObject } from '../helpers/objects';

const FIXTURES = path.join(__dirname, '../fixtures/check');
const SNAPSHOT = path.join(FIXTURES, 'cluster.yaml');
const DEMO = path.join(__dirname, '../../demo/cluster.yaml');
const logger = createLogger('silent');
const ALL_FLAGS = ['--ignore-daemonsets', '--delete-emptydir-data', '--force'];

function optionsFor(...argv: string[]): CheckOptions {
  const options = parseCheckOptions(['--snapshot', SNAPSHOT, ...argv]);
  if (options === 'help') throw new Error('unexpected help');
  return options;
}

/** An EvictionPolicy file in a fresh temporary folder. */
function policyFile(name: string, spec: Record<string, unknown>): string {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'eg-check-')), `${name}.json`);
  writeFileSync(file, JSON.stringify(evictionPolicyObject(name, spec)));
  return file;
}

const reportFor = (...argv: string[]): Promise<DrainReport> => runDrainCheck(optionsFor(...argv), logger);
const resultsOf = (report: DrainReport) => Object.fromEntries(report.pods.map((pod) => [`${pod.namespace}/${pod.name}`, pod.result]));

describe('eviction-guard check: table output (golden files)', () => {
  it.each([
    ['node-1.txt', ['--node', 'node-1']],
    ['node-1-all-flags.txt', ['--node', 'node-1', ...ALL_FLAGS]],
    ['nodes-1-2-all-flags.txt', ['--node', 'node-1', '--node', 'node-2', ...ALL_FLAGS]],
    ['namespace-shop.txt', ['--namespace', 'shop']],
    ['pods.txt', ['shop/web-c', 'shop/no-such-pod']],
    ['node-empty.txt', ['--node', 'node-9']],
  ])('%s', async (golden, argv) => {
    expectGolden(path.join(FIXTURES, golden), renderDrainTable(await reportFor(...argv)));
  });
});

describe('eviction-guard check: what each pod gets', () => {
  it('applies every kubectl drain filter and every kind of eviction answer on node-1', async () => {
    const report = await reportFor('--node', 'node-1');
    expect(resultsOf(report)).toEqual({
      'kube-system/fluentd-n1': 'refuse',
      'kube-system/fluentd-old': 'evict',
      'kube-system/kube-apiserver-node-1': 'skip',
      'payments/ledger-0': 'fail',
      'shop/cache-a': 'refuse',
      'shop/cart-a': 'fail',
      'shop/db-0': 'block',
      'shop/web-a': 'evict',
      'shop/web-b': 'wait',
      'tools/toolbox': 'refuse',
    });
    const byName = new Map(report.pods.map((pod) => [pod.name, pod]));
    expect(byName.get('db-0')).toMatchObject({ code: 429, decidedBy: 'pdb/budget', pdbs: ['shop/db-pdb'] });
    expect(byName.get('cart-a')).toMatchObject({ code: 500, decidedBy: 'pdb/overlap' });
    expect(byName.get('ledger-0')).toMatchObject({ code: 403, decidedBy: 'policy/annotation-protect' });
    expect(byName.get('fluentd-n1')).toMatchObject({ decidedBy: 'drain/daemonset', flag: '--ignore-daemonsets' });
    expect(report.completes).toBe(false);
    expect(report.counts).toEqual({ evict: 2, wait: 1, skip: 1, refuse: 3, block: 1, fail: 2, missing: 0 });
    expect(report.blockers).toEqual({
      'drain/daemonset': 1,
      'drain/local-storage': 1,
      'drain/unreplicated': 1,
      'pdb/budget': 1,
      'pdb/overlap': 1,
      'policy/annotation-protect': 1,
    });
  });

  it("turns the filters' refusals into skips and warnings with the drain flags", async () => {
    const report = await reportFor('--node', 'node-1', ...ALL_FLAGS);
    const results = resultsOf(report);
    expect(results).toMatchObject({ 'kube-system/fluentd-n1': 'skip', 'shop/cache-a': 'evict', 'tools/toolbox': 'evict' });
    // As kubectl prints them: the emptyDir warning is dropped for a pod with a controller, a bare pod's stays.
    expect(report.pods.find((pod) => pod.name === 'cache-a')?.warnings).toEqual([]);
    expect(report.pods.find((pod) => pod.name === 'toolbox')?.warnings).toEqual(['deleting Pods that declare no controller (--force)']);
  });

  it('plans the second pod of a PDB allowing 1 to wait for the first one\'s replacement, without calling it a blocker', async () => {
    const report = await reportFor('--node', 'node-1', ...ALL_FLAGS);
    const byName = new Map(report.pods.map((pod) => [pod.name, pod]));
    expect(byName.get('web-a')).toMatchObject({ result: 'evict', wave: 1 });
    expect(byName.get('web-b')).toMatchObject({ result: 'wait', code: 429, decidedBy: 'pdb/budget', wave: 2, waitsFor: ['shop/web-a'] });
    expect(byName.get('web-b')?.message).toContain('Evictions not yet confirmed by the PDB controller: web-a.');
    expect(report.blockers).toEqual({ 'pdb/budget': 1, 'pdb/overlap': 1, 'policy/annotation-protect': 1 });
    expect(report.assumptions).toEqual([REPLACEMENT_ASSUMPTION]);
  });

  it('plans a node-pool rotation node after node: node-2 starts once node-1\'s evictions are replaced', async () => {
    const report = await reportFor('--node', 'node-1', '--node', 'node-2', ...ALL_FLAGS);
    expect(report.scope).toBe('nodes node-1, node-2');
    expect(report.pods.map((pod) => pod.node)).toEqual([...Array(10).fill('node-1'), ...Array(3).fill('node-2')]);
    const byName = new Map(report.pods.map((pod) => [pod.name, pod]));
    expect(byName.get('web-c')).toMatchObject({ result: 'evict', wave: 3 });
    expect(report.assumptions).toEqual([REPLACEMENT_ASSUMPTION, NODE_ORDER_ASSUMPTION]);
    expect(report.notes).toEqual([
      'kubectl drain stays on node node-1 while its 1 blocked pod(s) get 429 (until --timeout); the nodes after it are planned as if it had finished.',
    ]);
  });

  it('plans the demo\'s shop namespace as its PDBs allow: one api pod now, the other two after replacements', async () => {
    const report = await runDrainCheck({ ...optionsFor('--namespace', 'shop'), snapshot: DEMO }, logger);
    const api = report.pods.filter((pod) => pod.name.startsWith('api-'));
    expect(api.map((pod) => [pod.result, pod.waitsFor?.length ?? 0])).toEqual([
      ['evict', 0],
      ['wait', 1],
      ['wait', 2],
    ]);
    expect(report.summary).toMatch(/^Drain of namespace shop would NOT complete: 2 evict now, 4 wait for replacements, 3 blocked; 2 denied\./);
  });

  it('reports a pod that does not exist, which stops the check from saying yes', async () => {
    const report = await reportFor('shop/web-c', 'no-such-pod', '-n', 'shop');
    expect(resultsOf(report)).toEqual({ 'shop/web-c': 'evict', 'shop/no-such-pod': 'missing' });
    expect(report.completes).toBe(false);
  });

  it('applies --policy files, as the webhook does', async () => {
    const policy = policyFile('protect-web', { action: 'Deny', match: { podSelector: { matchLabels: { app: 'web' } } }, rules: [{ protect: {} }] });
    const report = await reportFor('shop/web-c', '--policy', policy);
    expect(report.pods[0]).toMatchObject({ result: 'fail', code: 403, decidedBy: 'policy/protect-web/protect' });
    const warned = await reportFor('shop/web-c', '--policy', policy, '--mode', 'warn');
    expect(warned.pods[0]).toMatchObject({ result: 'evict' });
    expect(warned.pods[0].warnings.join('\n')).toContain('protect-web');
  });

  it('matches subjects with --as and --as-group', async () => {
    const policy = policyFile('exempt', { annotationProtection: { exemptSubjects: [{ kind: 'Group', name: 'dba' }, { kind: 'User', name: 'bob' }] } });
    const exemptAs = await reportFor('payments/ledger-0', '--policy', policy, '--as', 'bob');
    expect(exemptAs.pods[0].result).toBe('evict');
    const blocked = await reportFor('payments/ledger-0', '--policy', policy, '--as', 'alice');
    expect(blocked.pods[0].result).toBe('fail');
    const exempt = await reportFor('payments/ledger-0', '--policy', policy, '--as', 'alice', '--as-group', 'dba');
    expect(exempt.pods[0].result).toBe('evict');
  });
});

describe('eviction-guard check: JSON and YAML', () => {
  it('prints the whole report as JSON', async () => {
    const { exitCode, stdout } = await captureStdout(() => runCheck(['--snapshot', SNAPSHOT, '--node', 'node-1', '-o', 'json']));
    expect(exitCode).toBe(1);
    const report = JSON.parse(stdout) as DrainReport;
    expect(report).toMatchObject({ scope: 'node node-1', completes: false, counts: { evict: 2, wait: 1, refuse: 3 } });
    expect(report.pods.find((pod) => pod.name === 'web-b')).toMatchObject({ result: 'wait', code: 429, wave: 2, waitsFor: ['shop/web-a'] });
    expect(report.pods.find((pod) => pod.name === 'db-0')).toMatchObject({
      result: 'block',
      code: 429,
      decidedBy: 'pdb/budget',
      checks: ['pdb/budget'],
      hint: 'scale the workload above 2 replicas, or lower minAvailable below 2',
    });
    expect(report.summary).toMatch(/^Drain of node node-1 would NOT complete: 2 evict now, 1 wait for replacements, 1 blocked; 2 denied, 3 refused, 1 skipped\./);
  });

  it('prints YAML that reads back as the same report', async () => {
    const report = await reportFor('--node', 'node-2');
    const { parse } = await import('yaml');
    expect(parse(renderData(report, 'yaml'))).toEqual(JSON.parse(renderData(report, 'json')));
  });
});

describe('eviction-guard check: exit codes', () => {
  it('is 0 when the drain would complete', async () => {
    const { exitCode, stdout } = await captureStdout(() => runCheck(['--snapshot', SNAPSHOT, 'shop/web-a', 'tools/toolbox', '--force']));
    expect(exitCode).toBe(0);
    expect(stdout).toContain('Drain of 2 pods would complete: 2 evict now, 0 wait for replacements, 0 blocked.');
  });

  it('is 1 when it would not', async () => {
    expect((await captureStdout(() => runCheck(['--snapshot', SNAPSHOT, '--node', 'node-2']))).exitCode).toBe(1);
  });

  it("reads the webhook's reservations from the Leases in eviction-guard unless --reservation-namespace says where", () => {
    expect(parseCheckOptions(['--node', 'a'])).toMatchObject({ reservationNamespace: 'eviction-guard' });
    expect(parseCheckOptions(['--node', 'a', '--reservation-namespace', 'ops'])).toMatchObject({ reservationNamespace: 'ops' });
  });

  it('is 0 when pods only wait for replacements: the drain completes, later', async () => {
    const { exitCode, stdout } = await captureStdout(() => runCheck(['--snapshot', SNAPSHOT, 'shop/web-a', 'shop/web-b', 'shop/web-c']));
    expect(exitCode).toBe(0);
    expect(stdout).toContain('Drain of 3 pods would complete: 1 evict now, 2 wait for replacements, 0 blocked.');
  });

  it('is 4, with the reason on stderr and nothing on stdout, when the snapshot cannot be read', async () => {
    const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const { exitCode, stdout } = await captureStdout(() => runCheck(['--snapshot', '/nonexistent/cluster.yaml', '--node', 'node-1']));
      expect(exitCode).toBe(4);
      expect(stdout).toBe('');
      expect(stderr).toHaveBeenCalledWith(expect.stringContaining('snapshot /nonexistent/cluster.yaml: cannot read the file'));
    } finally {
      stderr.mockRestore();
    }
  });

  it.each([
    [[], 'give exactly one of --node NAME (repeatable), --namespace NS, or PODs'],
    [['--node', 'a', '--node', 'a'], '--node a is given twice'],
    [['--node', ''], '--node needs a node name'],
    [['--node', 'a', 'shop/web'], 'give exactly one'],
    [['shop/web/extra'], 'a POD is NAMESPACE/NAME or NAME'],
    [['-n', 'tools', 'shop/web'], 'is not in --namespace tools'],
    [['--node', 'a', '-o', 'wide'], '-o/--output must be one of table, json, yaml'],
    [['--node', 'a', '--kubeconfig', 'k', '--snapshot', 's'], 'alternatives'],
    [['--node', 'a', '--timeout', '0'], '--timeout'],
    [['--node', 'a', '--bogus'], "Unknown option '--bogus'"],
    [['--node', 'a', '--reservation-namespace', 'Eviction_Guard'], '--reservation-namespace must be a namespace name'],
  ])('rejects %j as a usage error (exit 2)', (argv, message) => {
    expect(() => parseCheckOptions(argv)).toThrow(UsageError);
    expect(() => parseCheckOptions(argv)).toThrow(message);
  });
});
