// One row per step of docs/eviction-semantics.md §1 that a webhook can see (steps 5–9e), asserting the
// same allow/deny, HTTP code, reason, top-level message and DisruptionBudget cause as kube-apiserver.
import { decide } from '../../src/decide';
import type { PdbFacts, PodFacts } from '../../src/domain';
import { mirrorEviction, type MirrorStep } from '../../src/pdb/mirror';
import { attemptFor, factsFor, pdbFacts, podFacts } from '../helpers/facts';

interface Row {
  step: string;
  pod: PodFacts | undefined;
  pdbs: PdbFacts[];
  outcome: MirrorStep;
  allowed: boolean;
  code?: number;
  reason?: string;
  firstLine?: string;
  cause?: string;
  retryAfterSeconds?: number;
}

const budgetZero = (overrides: Partial<PdbFacts> = {}, status = {}) =>
  pdbFacts('web-pdb', overrides, { disruptionsAllowed: 0, currentHealthy: 3, desiredHealthy: 3, ...status });
const VIOLATION = "Cannot evict pod as it would violate the pod's disruption budget.";

const rows: Row[] = [
  { step: '5 pod not found (404 later): allowed', pod: undefined, pdbs: [budgetZero()], outcome: 'pod-not-found', allowed: true },
  { step: '6 Succeeded pod ignores PDBs', pod: podFacts('web-1', { phase: 'Succeeded' }), pdbs: [budgetZero()], outcome: 'ignores-pdbs', allowed: true },
  { step: '6 Failed pod ignores PDBs', pod: podFacts('web-1', { phase: 'Failed' }), pdbs: [budgetZero()], outcome: 'ignores-pdbs', allowed: true },
  { step: '6 Pending pod ignores PDBs', pod: podFacts('web-1', { phase: 'Pending', ready: false }), pdbs: [budgetZero()], outcome: 'ignores-pdbs', allowed: true },
  { step: '6 deleting pod ignores PDBs (#91141)', pod: podFacts('web-1', { deleting: true }), pdbs: [budgetZero()], outcome: 'ignores-pdbs', allowed: true },
  {
    step: '6 a deleting pod ignores even overlapping PDBs',
    pod: podFacts('web-1', { deleting: true }),
    pdbs: [budgetZero(), pdbFacts('other')],
    outcome: 'ignores-pdbs',
    allowed: true,
  },
  {
    step: '7a two PDBs select a Running pod: 500 with no reason',
    pod: podFacts('web-1'),
    pdbs: [pdbFacts('a'), pdbFacts('b', { selector: {} })],
    outcome: 'overlapping-pdbs',
    allowed: false,
    code: 500,
    reason: '',
    firstLine: 'This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.',
  },
  {
    step: '7a an Unknown-phase pod is not ignorable',
    pod: podFacts('web-1', { phase: 'Unknown' }),
    pdbs: [pdbFacts('a'), pdbFacts('b')],
    outcome: 'overlapping-pdbs',
    allowed: false,
    code: 500,
  },
  {
    step: '7a overlap is checked before the unready shortcut, even with AlwaysAllow',
    pod: podFacts('web-1', { ready: false }),
    pdbs: [pdbFacts('a', { unhealthyPodEvictionPolicy: 'AlwaysAllow' }), pdbFacts('b', { unhealthyPodEvictionPolicy: 'AlwaysAllow' })],
    outcome: 'overlapping-pdbs',
    allowed: false,
    code: 500,
  },
  { step: '7b no PDB selects the pod', pod: podFacts('web-1'), pdbs: [pdbFacts('db', { selector: { matchLabels: { app: 'db' } } })], outcome: 'no-pdb', allowed: true },
  { step: '7b a nil-selector PDB selects nothing', pod: podFacts('web-1'), pdbs: [budgetZero({ selector: null })], outcome: 'no-pdb', allowed: true },
  {
    step: '7b an invalid selector is skipped',
    pod: podFacts('web-1'),
    pdbs: [budgetZero({ selector: { matchExpressions: [{ key: 'app', operator: 'In', values: [] }] } })],
    outcome: 'no-pdb',
    allowed: true,
  },
  {
    step: '7b a PDB of another namespace is skipped',
    pod: podFacts('web-1'),
    pdbs: [budgetZero({ namespace: 'other' })],
    outcome: 'no-pdb',
    allowed: true,
  },
  {
    step: '8 unready pod, budget met (current 2 >= desired 2 > 0), nil policy: allowed without budget',
    pod: podFacts('web-1', { ready: false }),
    pdbs: [budgetZero({}, { currentHealthy: 2, desiredHealthy: 2 })],
    outcome: 'unready-pod-shortcut',
    allowed: true,
  },
  {
    step: '8 unready pod, IfHealthyBudget, budget met: allowed',
    pod: podFacts('web-1', { ready: false }),
    pdbs: [budgetZero({ unhealthyPodEvictionPolicy: 'IfHealthyBudget' }, { currentHealthy: 2, desiredHealthy: 2 })],
    outcome: 'unready-pod-shortcut',
    allowed: true,
  },
  {
    step: '8 unready pod, AlwaysAllow, budget broken: allowed',
    pod: podFacts('web-1', { ready: false }),
    pdbs: [budgetZero({ unhealthyPodEvictionPolicy: 'AlwaysAllow' }, { currentHealthy: 0, desiredHealthy: 0 })],
    outcome: 'unready-pod-shortcut',
    allowed: true,
  },
  {
    step: '8 the shortcut ignores a stale status',
    pod: podFacts('web-1', { ready: false }),
    pdbs: [budgetZero({ generation: 2 }, { observedGeneration: 1, currentHealthy: 2, desiredHealthy: 2 })],
    outcome: 'unready-pod-shortcut',
    allowed: true,
  },
  {
    step: '8 not taken when desiredHealthy is 0 (nil policy): 429',
    pod: podFacts('web-1', { ready: false }),
    pdbs: [budgetZero({}, { currentHealthy: 0, desiredHealthy: 0 })],
    outcome: 'budget-exhausted',
    allowed: false,
    code: 429,
    reason: 'TooManyRequests',
    firstLine: VIOLATION,
    cause: 'The disruption budget web-pdb needs 0 healthy pods and has 0 currently',
  },
  {
    step: '8 not taken for a Ready pod: 429 needs 2 has 2',
    pod: podFacts('web-1'),
    pdbs: [budgetZero({}, { currentHealthy: 2, desiredHealthy: 2 })],
    outcome: 'budget-exhausted',
    allowed: false,
    code: 429,
    cause: 'The disruption budget web-pdb needs 2 healthy pods and has 2 currently',
  },
  {
    step: '8 not taken for an unknown policy value, which behaves like IfHealthyBudget',
    pod: podFacts('web-1', { ready: false }),
    pdbs: [budgetZero({ unhealthyPodEvictionPolicy: 'SomethingNew' }, { currentHealthy: 1, desiredHealthy: 2 })],
    outcome: 'budget-exhausted',
    allowed: false,
    code: 429,
  },
  {
    step: '9a observedGeneration < generation: 429 with Retry-After 10',
    pod: podFacts('web-1'),
    pdbs: [pdbFacts('web-pdb', { generation: 3 }, { observedGeneration: 2, disruptionsAllowed: 5 })],
    outcome: 'stale-status',
    allowed: false,
    code: 429,
    reason: 'TooManyRequests',
    firstLine: VIOLATION,
    cause: 'The disruption budget web-pdb is still being processed by the server.',
    retryAfterSeconds: 10,
  },
  {
    step: '9b negative disruptionsAllowed: 403',
    pod: podFacts('web-1'),
    pdbs: [pdbFacts('web-pdb', {}, { disruptionsAllowed: -1 })],
    outcome: 'negative-budget',
    allowed: false,
    code: 403,
    reason: 'Forbidden',
    firstLine: 'poddisruptionbudget.policy "web-pdb" is forbidden: pdb disruptions allowed is negative',
    cause: 'The disruption budget web-pdb does not allow evicting pods currently: pdb disruptions allowed is negative',
  },
  {
    step: '9c more than 2000 disruptedPods: 403',
    pod: podFacts('web-1'),
    pdbs: [pdbFacts('web-pdb', {}, { disruptedPods: Object.fromEntries(Array.from({ length: 2001 }, (_, i) => [`p${i}`, 't'])) })],
    outcome: 'too-many-disrupted-pods',
    allowed: false,
    code: 403,
    reason: 'Forbidden',
    firstLine: 'DisruptedPods map too big - too many evictions not confirmed by PDB controller',
    cause: 'The disruption budget web-pdb does not allow evicting pods currently: too many pending evictions not confirmed by PDB controller',
  },
  {
    step: '9c exactly 2000 disruptedPods is still fine',
    pod: podFacts('web-1'),
    pdbs: [pdbFacts('web-pdb', {}, { disruptedPods: Object.fromEntries(Array.from({ length: 2000 }, (_, i) => [`p${i}`, 't'])) })],
    outcome: 'budget-available',
    allowed: true,
  },
  {
    step: '9d disruptionsAllowed 0: 429 TooManyRequests',
    pod: podFacts('web-1'),
    pdbs: [budgetZero()],
    outcome: 'budget-exhausted',
    allowed: false,
    code: 429,
    reason: 'TooManyRequests',
    firstLine: VIOLATION,
    cause: 'The disruption budget web-pdb needs 3 healthy pods and has 3 currently',
  },
  {
    step: '9d a {} selector blocks like any other (PR #119732)',
    pod: podFacts('web-1', { labels: {} }),
    pdbs: [budgetZero({ selector: {} })],
    outcome: 'budget-exhausted',
    allowed: false,
    code: 429,
  },
  {
    step: '9d SyncFailed condition names the sync failure (PR #133097)',
    pod: podFacts('web-1'),
    pdbs: [budgetZero({}, { conditions: [{ type: 'DisruptionAllowed', status: 'False', reason: 'SyncFailed', message: 'found no controllers for pod "web-1"' }] })],
    outcome: 'budget-exhausted',
    allowed: false,
    code: 429,
    cause: 'The disruption budget web-pdb does not allow evicting pods currently because it failed sync: found no controllers for pod "web-1"',
  },
  {
    step: '9d another False condition with current > desired',
    pod: podFacts('web-1'),
    pdbs: [budgetZero({}, { currentHealthy: 4, desiredHealthy: 3, conditions: [{ type: 'DisruptionAllowed', status: 'False', reason: 'InsufficientPods', message: 'x' }] })],
    outcome: 'budget-exhausted',
    allowed: false,
    code: 429,
    cause: 'The disruption budget web-pdb does not allow evicting pods currently (InsufficientPods): x',
  },
  {
    step: '9d current > desired and no condition',
    pod: podFacts('web-1'),
    pdbs: [budgetZero({}, { currentHealthy: 4, desiredHealthy: 3 })],
    outcome: 'budget-exhausted',
    allowed: false,
    code: 429,
    cause: 'The disruption budget web-pdb does not allow evicting pods currently',
  },
  { step: '9e budget available: allowed', pod: podFacts('web-1'), pdbs: [pdbFacts('web-pdb')], outcome: 'budget-available', allowed: true },
  {
    step: '9e an unready pod past a broken budget still goes through when disruptions remain',
    pod: podFacts('web-1', { ready: false }),
    pdbs: [pdbFacts('web-pdb', {}, { disruptionsAllowed: 1, currentHealthy: 1, desiredHealthy: 2 })],
    outcome: 'budget-available',
    allowed: true,
  },
];

describe('mirror of the API server eviction decision (docs/eviction-semantics.md §1)', () => {
  it.each(rows.map((row) => [row.step, row] as const))('step %s', (_step, row) => {
    expect(mirrorEviction(row.pod, row.pdbs).step).toBe(row.outcome);

    const verdict = decide(attemptFor('web-1'), factsFor(row.pod, row.pdbs));
    expect(verdict.allowed).toBe(row.allowed);
    if (row.allowed) {
      expect(verdict.status).toBeUndefined();
      return;
    }
    expect(verdict.status?.code).toBe(row.code);
    if (row.reason !== undefined) expect(verdict.status?.reason).toBe(row.reason);
    if (row.firstLine !== undefined) expect(verdict.status?.message.split('\n')[0]).toBe(row.firstLine);
    if (row.cause !== undefined) expect(verdict.status?.details?.causes).toEqual([{ type: 'DisruptionBudget', message: row.cause }]);
    expect(verdict.status?.details?.retryAfterSeconds).toBe(row.retryAfterSeconds);
  });

  it('answers the overlapping-PDB 500 without details, like the API server', () => {
    const verdict = decide(attemptFor('web-1'), factsFor(podFacts('web-1'), [pdbFacts('a'), pdbFacts('b')]));
    expect(verdict.status?.details).toBeUndefined();
  });
});
