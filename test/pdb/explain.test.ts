import { decide } from '../../src/decide';
import { diagnoseNeverAllows } from '../../src/pdb/explain';
import { attemptFor, factsFor, pdbFacts, podFacts } from '../helpers/facts';

const exhausted = (overrides = {}, status = {}) =>
  pdbFacts('web-pdb', overrides, { disruptionsAllowed: 0, currentHealthy: 2, desiredHealthy: 3, expectedPods: 3, ...status });

describe('explanations of a denial', () => {
  it('names every overlapping PDB with its selector and says how to fix it', () => {
    const pdbs = [
      pdbFacts('web-pdb', { selector: { matchLabels: { app: 'web' } } }),
      pdbFacts('all-pods', { selector: {} }),
      pdbFacts('front', { selector: { matchExpressions: [{ key: 'app', operator: 'In', values: ['web', 'api'] }] } }),
    ];
    const verdict = decide(attemptFor('web-1'), factsFor(podFacts('web-1'), pdbs));
    const message = verdict.status?.message ?? '';
    expect(message).toContain('shop/web-pdb (selector app=web)');
    expect(message).toContain('shop/all-pods (selector {} (every pod in the namespace))');
    expect(message).toContain('shop/front (selector app in (web,api))');
    expect(message).toMatch(/Fix: make the PDB selectors disjoint, or delete all but one/);
    expect(verdict.pdbs).toEqual(['shop/all-pods', 'shop/front', 'shop/web-pdb']);
    expect(verdict.auditAnnotations).toEqual({ decision: 'deny', code: '500', checks: 'pdb/overlap', pdbs: 'shop/all-pods,shop/front,shop/web-pdb' });
  });

  it('gives the PDB spec and its numbers for a budget at 0', () => {
    const verdict = decide(attemptFor('web-1'), factsFor(podFacts('web-1'), [exhausted()]));
    expect(verdict.status?.message).toContain('PDB shop/web-pdb (minAvailable=2) expected 3 pods, needs 3 healthy, has 2, allows 0 disruptions.');
  });

  it('names the selected pods that are not Ready, and only those', () => {
    const others = [
      podFacts('web-2', { ready: false }),
      podFacts('web-3'),
      podFacts('db-1', { ready: false, labels: { app: 'db' } }),
      podFacts('web-4', { ready: false, deleting: true }),
    ];
    const verdict = decide(attemptFor('web-1'), factsFor(podFacts('web-1'), [exhausted()], others));
    expect(verdict.status?.message).toContain('Not Ready: shop/web-2.');
    expect(verdict.status?.message).not.toContain('db-1');
    expect(verdict.status?.message).not.toContain('web-4');
    expect(verdict.warnings).toContain('PDB shop/web-pdb allows 0 disruptions: 1 selected pod(s) not Ready');
  });

  it('lists at most five unready pods and counts the rest', () => {
    const others = Array.from({ length: 8 }, (_, i) => podFacts(`web-${i + 2}`, { ready: false }));
    const verdict = decide(attemptFor('web-1'), factsFor(podFacts('web-1'), [exhausted()], others));
    expect(verdict.status?.message).toContain('Not Ready: shop/web-2, shop/web-3, shop/web-4, shop/web-5, shop/web-6 and 3 more.');
  });

  it.each([
    ['maxUnavailable 0', { maxUnavailable: 0, minAvailable: undefined }, 'maxUnavailable is 0', 'set maxUnavailable to 1'],
    ['maxUnavailable 0%', { maxUnavailable: '0%', minAvailable: undefined }, 'maxUnavailable is 0%', 'set maxUnavailable to 1'],
    ['minAvailable 100%', { minAvailable: '100%' }, 'minAvailable is 100%', 'lower minAvailable below 100%'],
    ['minAvailable equal to the pods', { minAvailable: 3 }, 'minAvailable=3 equals the 3 pods it selects', 'scale the workload above 3 replicas'],
    ['minAvailable above the pods', { minAvailable: 5 }, 'minAvailable=5 exceeds the 3 pods it selects', 'scale the workload above 5 replicas'],
  ])('diagnoses a PDB that can never allow a disruption: %s', (_name, spec, reason, fix) => {
    const pdb = exhausted(spec, { desiredHealthy: 3, currentHealthy: 3 });
    expect(diagnoseNeverAllows(pdb)).toEqual({ reason, fix: expect.stringContaining(fix) });
    const verdict = decide(attemptFor('web-1'), factsFor(podFacts('web-1'), [pdb]));
    expect(verdict.status?.message).toContain(`It can never allow a disruption: ${reason}`);
    expect(verdict.status?.message).toContain(`Fix: ${fix}`);
    expect(verdict.warnings[0]).toMatch(/can never allow a disruption/);
  });

  it.each([
    ['minAvailable below the pods', { minAvailable: 2 }],
    ['maxUnavailable 1', { maxUnavailable: 1, minAvailable: undefined }],
    ['minAvailable 50%', { minAvailable: '50%' }],
  ])('does not call a PDB hopeless when it can allow disruptions: %s', (_name, spec) => {
    expect(diagnoseNeverAllows(exhausted(spec))).toBeUndefined();
  });

  it('reports a SyncFailed condition with its message', () => {
    const pdb = exhausted({}, { conditions: [{ type: 'DisruptionAllowed', status: 'False', reason: 'SyncFailed', message: 'found no controllers for pod "web-9"' }] });
    const verdict = decide(attemptFor('web-1'), factsFor(podFacts('web-1'), [pdb]));
    expect(verdict.status?.message).toContain('failed to sync it (SyncFailed: found no controllers for pod "web-9")');
  });

  it('explains a stale status and when to retry', () => {
    const pdb = pdbFacts('web-pdb', { generation: 4 }, { observedGeneration: 3 });
    const verdict = decide(attemptFor('web-1'), factsFor(podFacts('web-1'), [pdb]));
    expect(verdict.status?.message).toContain('observedGeneration 3 < generation 4');
    expect(verdict.status?.message).toContain('Fix: retry in a few seconds');
  });

  it('keeps the message under 1 KB and each warning within 120 characters, even for huge names', () => {
    const long = 'x'.repeat(200);
    const pdbs = Array.from({ length: 20 }, (_, i) =>
      pdbFacts(`${long}-${i}`, { selector: { matchExpressions: [{ key: 'app', operator: 'In', values: ['web', long.slice(0, 60)] }] } }),
    );
    const verdict = decide(attemptFor('web-1'), factsFor(podFacts('web-1'), pdbs));
    expect(Buffer.byteLength(verdict.status?.message ?? '')).toBeLessThanOrEqual(1024);
    expect(verdict.status?.message.split('\n')[0]).toBe('This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.');
    for (const warning of verdict.warnings) expect(warning.length).toBeLessThanOrEqual(120);
  });
});
