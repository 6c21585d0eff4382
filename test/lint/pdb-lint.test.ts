import { memoryInventory } from '../../src/cluster/inventory';
import type { PdbFacts, PodFacts, WorkloadFacts } from '../../src/domain';
import { LINT_CHECKS, lintCandidatePdb, lintInventory, worstSeverity } from '../../src/lint/pdb-lint';
import { pdbFacts, podFacts } from '../helpers/facts';

function workload(kind: string, name: string, replicas: number, templateLabels: Record<string, string>, owner?: { kind: string; name: string }): WorkloadFacts {
  return { kind, namespace: 'shop', name, replicas, readyReplicas: replicas, labels: {}, templateLabels, ...(owner ? { owner } : {}) };
}

const webDeployment = workload('Deployment', 'web', 3, { app: 'web' });
const webReplicaSet = workload('ReplicaSet', 'web-7d9c5b7f6', 3, { app: 'web' }, { kind: 'Deployment', name: 'web' });
const webPods = ['web-1', 'web-2', 'web-3'].map((name) => podFacts(name));

function lint(pdbs: PdbFacts[], pods: PodFacts[] = webPods, workloads: WorkloadFacts[] = [webDeployment, webReplicaSet]) {
  return lintInventory(memoryInventory({ pods, pdbs, workloads }));
}

const checksOf = (findings: { check: string; name: string; severity: string }[]) => findings.map(({ check, name, severity }) => [check, name, severity]);

describe('lintInventory()', () => {
  it('finds nothing wrong with one PDB that allows a disruption', () => {
    expect(lint([pdbFacts('web-pdb', { minAvailable: undefined, maxUnavailable: 1 })])).toEqual([]);
  });

  it('names overlapping PDBs and the pods they share', () => {
    const findings = lint([pdbFacts('web-pdb', { minAvailable: 1 }), pdbFacts('all-pdb', { selector: {}, minAvailable: 1 })]);
    expect(findings).toEqual([
      expect.objectContaining({
        check: LINT_CHECKS.overlap,
        severity: 'error',
        name: 'all-pdb',
        pdbs: ['shop/web-pdb'],
        pods: ['shop/web-1', 'shop/web-2', 'shop/web-3'],
        message: expect.stringContaining('PDBs shop/all-pdb, shop/web-pdb all select 3 pod(s): shop/web-1, shop/web-2, shop/web-3.'),
      }),
    ]);
  });

  it.each([
    ['maxUnavailable 0', { minAvailable: undefined, maxUnavailable: 0 }, 'maxUnavailable is 0'],
    ['maxUnavailable 0%', { minAvailable: undefined, maxUnavailable: '0%' }, 'maxUnavailable is 0%'],
    ['minAvailable 100%', { minAvailable: '100%' }, 'minAvailable is 100%'],
    ['minAvailable equal to the replicas', { minAvailable: 3 }, 'minAvailable=3 equals the 3 pods it selects'],
    ['minAvailable above the replicas', { minAvailable: 5 }, 'minAvailable=5 exceeds the 3 pods it selects'],
  ])('finds a PDB that can never allow a disruption: %s', (_name, spec, reason) => {
    const findings = lint([pdbFacts('web-pdb', spec)]);
    expect(findings).toEqual([expect.objectContaining({ check: LINT_CHECKS.neverAllows, severity: 'error', message: expect.stringContaining(reason) })]);
    expect(findings[0].hint).not.toBe('');
  });

  it("counts replicas from the workload's spec, not from the pods that happen to exist", () => {
    // 2 of the Deployment's 3 pods exist (a rollout, an eviction): minAvailable 2 can still allow one.
    expect(lint([pdbFacts('web-pdb', { minAvailable: 2 })], webPods.slice(0, 2))).toEqual([]);
  });

  it('finds PDBs that select no pods, and says a missing selector matches nothing', () => {
    const findings = lint([pdbFacts('ghost-pdb', { selector: { matchLabels: { app: 'ghost' } } }), pdbFacts('nil-pdb', { selector: null })]);
    expect(checksOf(findings)).toEqual([
      [LINT_CHECKS.selectsNothing, 'ghost-pdb', 'warning'],
      [LINT_CHECKS.selectsNothing, 'nil-pdb', 'warning'],
      [LINT_CHECKS.noPdb, 'web', 'info'],
    ]);
    expect(findings[1].message).toContain('has no selector');
  });

  it('does not count finished pods as protected', () => {
    const done = podFacts('job-1', { labels: { app: 'report' }, phase: 'Succeeded', owner: { kind: 'Job', name: 'report' } });
    const findings = lint([pdbFacts('report-pdb', { selector: { matchLabels: { app: 'report' } }, minAvailable: 1 })], [done], []);
    expect(checksOf(findings)).toEqual([[LINT_CHECKS.selectsNothing, 'report-pdb', 'warning']]);
  });

  it('finds maxUnavailable or a percentage over pods the disruption controller cannot count', () => {
    const bare = podFacts('toolbox', { labels: { app: 'tools' }, owner: undefined });
    const daemon = podFacts('agent-x', { labels: { app: 'tools' }, owner: { kind: 'DaemonSet', name: 'agent' } });
    const mixed = lint([pdbFacts('tools-pdb', { selector: {}, minAvailable: '50%' })], [bare, daemon, ...webPods]);
    expect(mixed).toEqual([
      expect.objectContaining({ check: LINT_CHECKS.unmanaged, severity: 'warning', pods: ['shop/toolbox', 'shop/agent-x'] }),
    ]);
    const only = lint([pdbFacts('tools-pdb', { selector: { matchLabels: { app: 'tools' } }, minAvailable: undefined, maxUnavailable: 1 })], [bare], []);
    expect(only).toEqual([expect.objectContaining({ check: LINT_CHECKS.unmanaged, severity: 'error' })]);
    // An integer minAvailable is the documented way to cover such pods.
    expect(lint([pdbFacts('tools-pdb', { selector: { matchLabels: { app: 'tools' } }, minAvailable: 0 })], [bare], [])).toEqual([]);
  });

  it('finds invalid selectors and the legacy match-none selector, and nothing else about them', () => {
    const findings = lint([
      pdbFacts('typo-pdb', { selector: { matchExpressions: [{ key: 'app', operator: 'Equals', values: ['web'] }] } }),
      pdbFacts('legacy-pdb', { selector: { matchExpressions: [{ key: 'pdb.kubernetes.io/deprecated-v1beta1-empty-selector-match', operator: 'Exists' }] } }),
    ]);
    expect(checksOf(findings)).toEqual([
      [LINT_CHECKS.invalidSelector, 'typo-pdb', 'error'],
      [LINT_CHECKS.legacySelector, 'legacy-pdb', 'warning'],
      [LINT_CHECKS.noPdb, 'web', 'info'],
    ]);
    expect(findings[0].message).toContain('"Equals" is not a valid label selector operator');
  });

  it('reports a PDB the disruption controller failed to sync', () => {
    const failed = pdbFacts('web-pdb', { minAvailable: 1 }, { disruptionsAllowed: 0, conditions: [{ type: 'DisruptionAllowed', status: 'False', reason: 'SyncFailed', message: 'found no controllers' }] });
    expect(lint([failed])).toEqual([expect.objectContaining({ check: LINT_CHECKS.syncFailed, severity: 'error', message: expect.stringContaining('found no controllers') })]);
  });

  it('reports workloads with more than one replica and no PDB as info, from pods or from pod templates', () => {
    const api = workload('Deployment', 'api', 2, { app: 'api' });
    const single = workload('StatefulSet', 'solo', 1, { app: 'solo' });
    const findings = lint([], webPods, [webDeployment, webReplicaSet, api, single]);
    expect(checksOf(findings)).toEqual([
      [LINT_CHECKS.noPdb, 'api', 'info'],
      [LINT_CHECKS.noPdb, 'web', 'info'],
    ]);
    expect(worstSeverity(findings)).toBe('info');
  });

  it('finds overlaps between pod templates when no pods exist (manifest files)', () => {
    const findings = lint([pdbFacts('a-pdb', { minAvailable: 1 }), pdbFacts('b-pdb', { minAvailable: 1 })], [], [webDeployment]);
    expect(findings).toEqual([expect.objectContaining({ check: LINT_CHECKS.overlap, pods: ['pods of Deployment shop/web'], message: expect.stringContaining('all select 3 pod(s)') })]);
  });

  it('orders findings worst first', () => {
    const findings = lint([pdbFacts('ghost-pdb', { selector: { matchLabels: { app: 'ghost' } } }), pdbFacts('web-pdb', { minAvailable: 3 })]);
    expect(findings.map((finding) => finding.severity)).toEqual(['error', 'warning']);
    expect(worstSeverity(findings)).toBe('error');
    expect(worstSeverity([])).toBeUndefined();
  });
});

describe('lintCandidatePdb(): the PDB admission guard', () => {
  const inventory = memoryInventory({ pods: webPods, pdbs: [pdbFacts('web-pdb', { minAvailable: 1 })], workloads: [webDeployment, webReplicaSet] });

  it('names the existing PDB a new one would overlap on live pods', () => {
    const findings = lintCandidatePdb(pdbFacts('web-ha-pdb', { selector: { matchExpressions: [{ key: 'app', operator: 'Exists' }] }, minAvailable: 1 }), inventory);
    expect(findings).toEqual([expect.objectContaining({ check: LINT_CHECKS.overlap, message: expect.stringContaining('shop/web-pdb') })]);
  });

  it('does not count its own stored version as another PDB (UPDATE)', () => {
    expect(lintCandidatePdb(pdbFacts('web-pdb', { minAvailable: 2 }), inventory)).toEqual([]);
  });

  it('finds a budget that can never allow a disruption, with or without pods', () => {
    expect(lintCandidatePdb(pdbFacts('web-pdb', { minAvailable: 3 }), inventory)).toEqual([expect.objectContaining({ check: LINT_CHECKS.neverAllows })]);
    expect(lintCandidatePdb(pdbFacts('new-pdb', { selector: { matchLabels: { app: 'new' } }, minAvailable: undefined, maxUnavailable: 0 }), inventory)).toEqual([
      expect.objectContaining({ check: LINT_CHECKS.neverAllows, message: expect.stringContaining('maxUnavailable is 0') }),
    ]);
  });

  it('ignores overlaps among the other PDBs, which this change did not make', () => {
    const crowded = memoryInventory({ pods: webPods, pdbs: [pdbFacts('a-pdb', { minAvailable: 1 }), pdbFacts('b-pdb', { minAvailable: 1 })], workloads: [webDeployment] });
    expect(lintCandidatePdb(pdbFacts('other-pdb', { selector: { matchLabels: { app: 'other' } }, minAvailable: 1 }), crowded)).toEqual([]);
  });

  it('checks overlaps in the PDB namespace only', () => {
    const elsewhere = pdbFacts('web-pdb-copy', { namespace: 'other', minAvailable: 1 });
    expect(lintCandidatePdb(elsewhere, inventory)).toEqual([]);
  });
});
