// planDrain(): evictions judged in drain order by the webhook's own decide() and policies, each one
// using up budget for the pods after it, with waves of replacements in between.
import { evictionContext } from '../../src/cluster/context';
import { memoryInventory, type ClusterInventory } from '../../src/cluster/inventory';
import type { EvictionFacts, PdbFacts, PodFacts, WorkloadFacts } from '../../src/domain';
import { planDrain, type PlanCandidate, type PlannedPod, type PlanReservations } from '../../src/drain/plan';
import { judgeEviction } from '../../src/evaluate';
import { evaluatePolicies } from '../../src/policy/engine';
import type { EvictionPolicy } from '../../src/policy/schema';
import { reservationView, type ReservationRecord } from '../../src/reservation/record';
import { attemptFor, pdbFacts, podFacts } from '../helpers/facts';
import { policy } from '../helpers/policies';

const NOW = new Date('2024-06-05T10:00:00Z');

interface Cluster {
  pods: PodFacts[];
  pdbs?: PdbFacts[];
  workloads?: WorkloadFacts[];
  policies?: EvictionPolicy[];
  /** Pods the webhook holds a live reservation for, in their owner's record. */
  reserved?: string[];
}

/** The webhook's reservations of `names`, as check reads them from the Leases. */
function reservationsOf(pods: readonly PodFacts[], names: readonly string[]): PlanReservations {
  const reserved = pods.filter((pod) => names.includes(pod.name));
  const record: ReservationRecord = {
    scope: { scope: 'owner', key: 'shop/ReplicaSet/web-7d9c5b7f6' },
    entries: reserved.map((pod) => ({ namespace: pod.namespace, name: pod.name, uid: pod.uid, reservedAt: NOW.getTime() - 1000, expiresAt: NOW.getTime() + 60_000, by: 'replica-a' })),
    version: '7',
  };
  return { view: reservationView([record], NOW.getTime()), pods: reserved };
}

/** The facts a cluster source gives for a pod: its namespace's PDBs and pods, and the context over the whole inventory. */
function factsIn(inventory: ClusterInventory, pod: PodFacts): EvictionFacts & { pod: PodFacts } {
  const pdbs = inventory.pdbsInNamespace(pod.namespace);
  return { pod, pdbs, podsInNamespace: () => inventory.podsInNamespace(pod.namespace), source: 'snapshot', context: evictionContext(pod, inventory, pdbs) };
}

/** Plans the drain of `steps` (pod names per node, in drain order) over `cluster`. */
function plan(cluster: Cluster, steps: string[][]): Map<string, PlannedPod> {
  const inventory = memoryInventory({ pods: cluster.pods, pdbs: cluster.pdbs ?? [], workloads: cluster.workloads ?? [] });
  const byName = new Map(cluster.pods.map((pod) => [pod.name, pod]));
  const candidates = steps.map((names) =>
    names.map((name): PlanCandidate => ({ attempt: attemptFor(name), facts: factsIn(inventory, byName.get(name)!) })),
  );
  const policies = cluster.policies ?? [];
  return planDrain(candidates, {
    judge: (attempt, facts, unconfirmed) =>
      judgeEviction(attempt, facts, (a, f, inputs) => evaluatePolicies(policies, a, f, { now: NOW, mode: 'enforce', ...inputs }), unconfirmed),
    now: NOW,
    ...(cluster.reserved ? { reservations: reservationsOf(cluster.pods, cluster.reserved) } : {}),
  });
}

/** result, wave and waitsFor of each pod, the short way. */
function outcomes(planned: Map<string, PlannedPod>): Record<string, string> {
  return Object.fromEntries(
    [...planned].map(([key, pod]) => [
      key.replace('shop/', ''),
      [pod.result, pod.wave, pod.waitsFor?.map((name) => name.replace('shop/', '')).join('+')].filter((part) => part !== undefined).join(' '),
    ]),
  );
}

const web = (name: string, overrides: Partial<PodFacts> = {}) => podFacts(name, overrides);
/** web-pdb over n healthy web pods, allowing `allowed` (currentHealthy − desiredHealthy). */
const webPdb = (healthy: number, allowed: number, overrides: Partial<PdbFacts> = {}) =>
  pdbFacts('web-pdb', { minAvailable: healthy - allowed, ...overrides }, { currentHealthy: healthy, desiredHealthy: healthy - allowed, disruptionsAllowed: allowed, expectedPods: healthy });

describe('planDrain()', () => {
  it('lets a PDB allowing 1 through once, then makes each next pod wait for the replacements before it', () => {
    const planned = plan({ pods: [web('web-1'), web('web-2'), web('web-3')], pdbs: [webPdb(3, 1)] }, [['web-1', 'web-2', 'web-3']]);
    expect(outcomes(planned)).toEqual({ 'web-1': 'evict 1', 'web-2': 'wait 2 web-1', 'web-3': 'wait 3 web-1+web-2' });
    // Why web-2 waits: the budget as the plan left it after web-1, in the API server's own 429.
    const { verdict } = planned.get('shop/web-2')!;
    expect(verdict.status).toMatchObject({ code: 429, reason: 'TooManyRequests' });
    expect(verdict.findings[0].message).toBe(
      'PDB shop/web-pdb (minAvailable=2) expected 3 pods, needs 2 healthy, has 2, allows 0 disruptions. Evictions not yet confirmed by the PDB controller: web-1.',
    );
  });

  it('lets as many go at once as the budget allows; a later pod waits until the earlier waiting ones have gone', () => {
    const planned = plan({ pods: ['web-1', 'web-2', 'web-3', 'web-4'].map((name) => web(name)), pdbs: [webPdb(4, 2)] }, [['web-1', 'web-2', 'web-3', 'web-4']]);
    // web-3 takes the room web-1's replacement makes, so web-4 needs web-2's as well.
    expect(outcomes(planned)).toEqual({ 'web-1': 'evict 1', 'web-2': 'evict 1', 'web-3': 'wait 2 web-1', 'web-4': 'wait 2 web-1+web-2' });
  });

  it('waits only for the evictions that hold the budget, not for unrelated ones before them', () => {
    const db = (name: string) => podFacts(name, { labels: { app: 'db' }, owner: { kind: 'StatefulSet', name: 'db' } });
    const dbPdb = pdbFacts('db-pdb', { selector: { matchLabels: { app: 'db' } } }, { currentHealthy: 2, desiredHealthy: 1, disruptionsAllowed: 1, expectedPods: 2 });
    const planned = plan({ pods: [db('db-0'), web('web-1'), web('web-2')], pdbs: [dbPdb, webPdb(3, 1)] }, [['db-0', 'web-1', 'web-2']]);
    expect(outcomes(planned)).toEqual({ 'db-0': 'evict 1', 'web-1': 'evict 1', 'web-2': 'wait 2 web-1' });
  });

  it("counts an unready pod's Ready replacement: it raises the budget of a PDB at 0 (the demo's search-pdb)", () => {
    const pods = [web('search-a', { ready: false }), web('search-b'), web('search-c')];
    const planned = plan({ pods, pdbs: [pdbFacts('web-pdb', {}, { currentHealthy: 2, desiredHealthy: 2, disruptionsAllowed: 0, expectedPods: 3 })] }, [
      ['search-a', 'search-b', 'search-c'],
    ]);
    expect(outcomes(planned)).toEqual({ 'search-a': 'evict 1', 'search-b': 'wait 2 search-a', 'search-c': 'wait 3 search-a+search-b' });
  });

  it('blocks the pods of a PDB that never allows, whatever else the drain replaces', () => {
    const other = podFacts('api-1', { labels: { app: 'api' } });
    const planned = plan({ pods: [other, web('web-1'), web('web-2')], pdbs: [webPdb(3, 0)] }, [['api-1', 'web-1', 'web-2']]);
    expect(outcomes(planned)).toEqual({ 'api-1': 'evict 1', 'web-1': 'block', 'web-2': 'block' });
    expect(planned.get('shop/web-1')?.verdict.findings[0].message).toContain('It can never allow a disruption');
  });

  it('keeps a 429 that waiting does not clear as blocked (a stale PDB status), while the others progress', () => {
    const api = (name: string) => podFacts(name, { labels: { app: 'api' } });
    const apiPdb = pdbFacts('api-pdb', { selector: { matchLabels: { app: 'api' } } }, { currentHealthy: 2, desiredHealthy: 1, disruptionsAllowed: 1, expectedPods: 2 });
    const stale = webPdb(3, 2, { generation: 2 });
    const planned = plan({ pods: [api('api-1'), api('api-2'), web('web-1')], pdbs: [apiPdb, stale] }, [['api-1', 'api-2', 'web-1']]);
    expect(outcomes(planned)).toEqual({ 'api-1': 'evict 1', 'api-2': 'wait 2 api-1', 'web-1': 'block' });
  });

  it('does not wait for a pod nobody replaces: a bare pod evicted from a PDB leaves the next one blocked', () => {
    const bare = (name: string) => web(name, { owner: undefined });
    const planned = plan({ pods: [bare('web-1'), bare('web-2')], pdbs: [webPdb(2, 1)] }, [['web-1', 'web-2']]);
    expect(outcomes(planned)).toEqual({ 'web-1': 'evict 1', 'web-2': 'block' });
  });

  it('reports 403 and 500 as failures and does not count them as evicted', () => {
    const protectedPod = web('web-1', { annotations: { 'evictionguard.io/protect': 'true' } });
    const cart = podFacts('cart-1', { labels: { app: 'cart', tier: 'front' } });
    const cartPdbs = [pdbFacts('cart-pdb', { selector: { matchLabels: { app: 'cart' } } }), pdbFacts('front-pdb', { selector: { matchLabels: { tier: 'front' } } })];
    const planned = plan({ pods: [protectedPod, cart, web('web-2')], pdbs: [webPdb(2, 1), ...cartPdbs] }, [['web-1', 'cart-1', 'web-2']]);
    expect(outcomes(planned)).toEqual({ 'web-1': 'fail', 'cart-1': 'fail', 'web-2': 'evict 1' });
    expect(planned.get('shop/web-1')?.verdict.status?.code).toBe(403);
    expect(planned.get('shop/cart-1')?.verdict.status?.code).toBe(500);
  });

  it("makes maxDisruptions see the plan's evictions as in disruption, through the context's recorded disruptions", () => {
    const replicaSet: WorkloadFacts = { kind: 'ReplicaSet', namespace: 'shop', name: 'web-7d9c5b7f6', replicas: 3, readyReplicas: 3, labels: {}, templateLabels: { app: 'web' } };
    const oneAtATime = policy('one-at-a-time', 'rules: [{ maxDisruptions: { per: owner, count: 1 } }]');
    const planned = plan({ pods: [web('web-1'), web('web-2'), web('web-3')], pdbs: [webPdb(3, 3)], workloads: [replicaSet], policies: [oneAtATime] }, [
      ['web-1', 'web-2', 'web-3'],
    ]);
    expect(outcomes(planned)).toEqual({ 'web-1': 'evict 1', 'web-2': 'wait 2 web-1', 'web-3': 'wait 3 web-1+web-2' });
    const why = planned.get('shop/web-2')!.verdict;
    expect(why.findings.find((finding) => finding.action === 'deny')).toMatchObject({
      check: 'policy/one-at-a-time/maxDisruptions',
      code: 429,
      message: expect.stringContaining('1 pod of ReplicaSet shop/web-7d9c5b7f6 is already in disruption (web-1)'),
    });
  });

  it('waits for an unrelated eviction when a per-node limit counts it', () => {
    const oneNodeAtATime = policy('one-per-node', 'rules: [{ maxDisruptions: { per: node, count: 1 } }]');
    const api = podFacts('api-1', { labels: { app: 'api' }, owner: { kind: 'ReplicaSet', name: 'api-5c6d7' } });
    const planned = plan({ pods: [api, web('web-1')], policies: [oneNodeAtATime] }, [['api-1', 'web-1']]);
    expect(outcomes(planned)).toEqual({ 'api-1': 'evict 1', 'web-1': 'wait 2 api-1' });
    expect(planned.get('shop/web-1')?.verdict.findings.find((finding) => finding.action === 'deny')?.check).toBe('policy/one-per-node/maxDisruptions');
  });

  describe("with the webhook's reservations", () => {
    const replicaSet: WorkloadFacts = { kind: 'ReplicaSet', namespace: 'shop', name: 'web-7d9c5b7f6', replicas: 4, readyReplicas: 4, labels: {}, templateLabels: { app: 'web' } };
    const oneAtATime = policy('one-at-a-time', 'rules: [{ maxDisruptions: { per: owner, count: 1 } }]');
    const webs = () => [web('web-1'), web('web-2'), web('web-3'), web('web-4', { nodeName: 'node-b' })];

    it('makes every pod wait for an eviction reserved outside the plan, which is in flight in wave 1 and replaced before wave 2', () => {
      const planned = plan({ pods: webs(), workloads: [replicaSet], policies: [oneAtATime], reserved: ['web-4'] }, [['web-1', 'web-2', 'web-3']]);
      expect(outcomes(planned)).toEqual({ 'web-1': 'wait 2 web-4', 'web-2': 'wait 3 web-4+web-1', 'web-3': 'wait 4 web-4+web-1+web-2' });
      expect(planned.get('shop/web-1')!.verdict.findings.find((finding) => finding.action === 'deny')).toMatchObject({
        check: 'policy/one-at-a-time/maxDisruptions',
        code: 429,
        message: '1 pod of ReplicaSet shop/web-7d9c5b7f6 is already in disruption (reserved: web-4); the limit is 1.',
      });
    });

    it('evicts a reserved pod of the plan first (it holds the slot), and the pods before it in drain order wait for it', () => {
      const planned = plan({ pods: webs(), workloads: [replicaSet], policies: [oneAtATime], reserved: ['web-2'] }, [['web-1', 'web-2', 'web-3']]);
      expect(outcomes(planned)).toEqual({ 'web-1': 'wait 2 web-2', 'web-2': 'evict 1', 'web-3': 'wait 3 web-2+web-1' });
      // Before it is planned, the pod counts through its reservation, named as such.
      expect(planned.get('shop/web-1')!.verdict.findings.find((finding) => finding.action === 'deny')?.message).toContain('(reserved: web-2)');
    });

    it('plans as if there were none when none counts: no counting policy, or a reserved pod the cluster already shows terminating', () => {
      const withoutPolicy = plan({ pods: webs(), workloads: [replicaSet], reserved: ['web-4'] }, [['web-1', 'web-2', 'web-3']]);
      expect(outcomes(withoutPolicy)).toEqual({ 'web-1': 'evict 1', 'web-2': 'evict 1', 'web-3': 'evict 1' });
      // Terminating, web-4 is counted by the cluster itself: its reservation changes nothing.
      const pods = [...webs().slice(0, 3), web('web-4', { nodeName: 'node-b', deleting: true })];
      const terminating = { pods, workloads: [replicaSet], policies: [oneAtATime] };
      expect(outcomes(plan({ ...terminating, reserved: ['web-4'] }, [['web-1', 'web-2', 'web-3']]))).toEqual(outcomes(plan(terminating, [['web-1', 'web-2', 'web-3']])));
    });

    it('settles the reserved evictions with the first node of a rotation', () => {
      const pods = [...webs(), web('web-5', { nodeName: 'node-c' })];
      const planned = plan({ pods, workloads: [replicaSet], policies: [oneAtATime], reserved: ['web-4'] }, [['web-1'], ['web-5']]);
      expect(outcomes(planned)).toEqual({ 'web-1': 'wait 2 web-4', 'web-5': 'evict 3' });
    });
  });

  it('drains nodes one after another: the evictions of a node are replaced before the next one starts', () => {
    const pods = [web('web-1', { nodeName: 'node-a' }), web('web-2', { nodeName: 'node-b' }), web('web-3', { nodeName: 'node-b' })];
    const planned = plan({ pods, pdbs: [webPdb(3, 1)] }, [['web-1'], ['web-2', 'web-3']]);
    expect(outcomes(planned)).toEqual({ 'web-1': 'evict 1', 'web-2': 'evict 2', 'web-3': 'wait 3 web-2' });
  });
});
