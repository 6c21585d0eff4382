import { decodeAdmissionReview, type DecodedPdbChange } from '../../src/admission/decode';
import { memoryInventory } from '../../src/cluster/inventory';
import type { ClusterView } from '../../src/cluster/view';
import { candidateOf, guardPdbChange, reviewPdbChange } from '../../src/guard/pdb-guard';
import { pdbFacts, podFacts } from '../helpers/facts';
import { pdbCreateReview } from '../admission/reviews';

const pods = ['web-1', 'web-2', 'web-3'].map((name) => podFacts(name));
const inventory = memoryInventory({ pods, pdbs: [pdbFacts('web-pdb', { minAvailable: 1 })] });

function change(spec: Record<string, unknown>, name = 'web-ha-pdb'): DecodedPdbChange {
  const decoded = decodeAdmissionReview(pdbCreateReview(spec, name));
  if (decoded.outcome !== 'pdb-change') throw new Error(`expected a PDB change, got ${decoded.outcome}`);
  return decoded;
}

const overlapping = { minAvailable: 1, selector: { matchLabels: { app: 'web' } } };

describe('candidateOf()', () => {
  it('fills in the namespace and name, and ignores any status the client sent', () => {
    const review = change({ ...overlapping });
    review.object.status = { disruptionsAllowed: 5 };
    expect(candidateOf(review)).toMatchObject({ namespace: 'shop', name: 'web-ha-pdb', minAvailable: 1, status: { disruptionsAllowed: 0, expectedPods: 0 } });
  });
});

describe('guardPdbChange()', () => {
  it('warns, naming the PDB it overlaps on live pods, and allows', () => {
    const verdict = guardPdbChange(candidateOf(change(overlapping)), inventory, 'warn');
    expect(verdict.allowed).toBe(true);
    expect(verdict.warnings).toEqual(['PDB shop/web-ha-pdb overlaps shop/web-pdb on 3 pod(s); evicting them will fail (500)']);
    expect(verdict.findings).toEqual([expect.objectContaining({ check: 'pdb-guard/overlapping-pdbs', action: 'warn', hint: expect.any(String) })]);
    expect(verdict.auditAnnotations).toMatchObject({ decision: 'allow', checks: 'pdb-guard/overlapping-pdbs' });
  });

  it('denies with 403 when set to deny, naming the other PDB in the message', () => {
    const verdict = guardPdbChange(candidateOf(change(overlapping)), inventory, 'deny');
    expect(verdict.allowed).toBe(false);
    expect(verdict.status).toMatchObject({ code: 403, reason: 'Forbidden' });
    expect(verdict.status?.message.split('\n')[0]).toBe('eviction-guard denied this PodDisruptionBudget (pdb-guard/overlapping-pdbs); --pdb-guard=deny is set.');
    expect(verdict.status?.message).toContain('shop/web-pdb');
  });

  it('warns about a budget that can never allow a disruption', () => {
    const verdict = guardPdbChange(candidateOf(change({ maxUnavailable: 0, selector: { matchLabels: { app: 'db' } } }, 'db-pdb')), inventory, 'warn');
    expect(verdict.warnings).toEqual(['PDB shop/db-pdb (maxUnavailable=0) can never allow a disruption; drains of its pods will hang']);
  });

  it('says nothing about a sound PDB, or about an UPDATE of the PDB that is already there', () => {
    expect(guardPdbChange(candidateOf(change({ maxUnavailable: 1, selector: { matchLabels: { app: 'api' } } }, 'api-pdb')), inventory, 'deny')).toMatchObject({
      allowed: true,
      warnings: [],
      findings: [],
    });
    expect(guardPdbChange(candidateOf(change({ minAvailable: 2, selector: { matchLabels: { app: 'web' } } }, 'web-pdb')), inventory, 'deny').allowed).toBe(true);
  });
});

describe('reviewPdbChange()', () => {
  const viewOf = (synced: boolean) => ({ isSynced: () => synced, inventory: () => inventory }) as unknown as ClusterView;

  it('checks the PDB once the cluster is listed', () => {
    expect(reviewPdbChange(change(overlapping), viewOf(true), 'deny')).toMatchObject({ allowed: false, status: { code: 403 } });
  });

  it('allows with a warning that it could not check before the first list completes', () => {
    expect(reviewPdbChange(change(overlapping), viewOf(false), 'deny')).toMatchObject({
      allowed: true,
      warnings: ['eviction-guard has not listed the cluster yet; this PodDisruptionBudget was not checked'],
      auditAnnotations: { checks: 'pdb-guard/not-synced' },
    });
  });
});
