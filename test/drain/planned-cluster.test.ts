// factsWithPlan(): the cluster as the drain plan left it, for the next eviction's decision.
import { evictionContext } from '../../src/cluster/context';
import { memoryInventory } from '../../src/cluster/inventory';
import { Interner } from '../../src/cluster/intern';
import { trimPod } from '../../src/cluster/trim';
import { plainPod, type EvictionFacts, type PdbFacts, type PodFacts } from '../../src/domain';
import { factsWithPlan, reservedEviction, type PlannedEviction } from '../../src/drain/planned-cluster';
import { pdbFacts, podFacts } from '../helpers/facts';

const NOW = new Date('2024-06-05T10:00:00Z');
const pods = [podFacts('web-1'), podFacts('web-2'), podFacts('web-3', { nodeName: 'node-b' })];
const pdb = pdbFacts('web-pdb', { minAvailable: 2 }, { currentHealthy: 3, desiredHealthy: 2, disruptionsAllowed: 1 });

function factsOf(pod: PodFacts, pdbs: PdbFacts[] = [pdb]): EvictionFacts {
  const inventory = memoryInventory({ pods, pdbs });
  return { pod, pdbs, podsInNamespace: () => inventory.podsInNamespace('shop'), source: 'snapshot', context: evictionContext(pod, inventory, pdbs) };
}

const evicted = (pod: PodFacts, overrides: Partial<PlannedEviction> = {}): PlannedEviction => ({
  key: `shop/${pod.name}`,
  pod,
  pdbs: ['web-pdb'],
  usedBudget: true,
  wasHealthy: true,
  isReplaced: true,
  ...overrides,
});

describe('factsWithPlan()', () => {
  it('leaves the facts alone when nothing is planned yet', () => {
    const facts = factsOf(pods[1]);
    expect(factsWithPlan(facts, { evictions: [], settled: new Set() }, NOW)).toBe(facts);
  });

  it('records an eviction in flight as the API server and the controller would: budget used, pod terminating, disruption recorded', () => {
    const facts = factsWithPlan(factsOf(pods[1]), { evictions: [evicted(pods[0])], settled: new Set() }, NOW);
    expect(facts.pdbs[0].status).toMatchObject({ currentHealthy: 2, disruptionsAllowed: 0, disruptedPods: { 'web-1': '2024-06-05T10:00:00Z' } });
    expect(facts.podsInNamespace().find((pod) => pod.name === 'web-1')).toMatchObject({ deleting: true });
    // The policies see it through the context's hook; the peers themselves are the cluster's.
    expect(facts.context!.isRecordedDisruption(pods[0])).toBe(true);
    expect(facts.context!.isRecordedDisruption(pods[2])).toBe(false);
    expect(facts.context!.peers('owner').find((pod) => pod.name === 'web-1')).toBe(pods[0]);
  });

  it("keeps every fact of an index pod it marks terminating or replaced, also those the index stores as getters", () => {
    const trimmed = trimPod(
      {
        metadata: { name: 'web-1', namespace: 'shop', creationTimestamp: '2024-06-05T09:00:00Z', ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-7d9c5b7f6', controller: true }] },
        spec: { nodeName: 'node-a', serviceAccountName: 'web', volumes: [{ name: 'kube-api-access-x2x9k', projected: {} }] },
        status: { phase: 'Running', startTime: '2024-06-05T09:00:01Z', conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: '2024-06-05T09:00:09Z' }] },
      },
      new Interner(),
    );
    if ('error' in trimmed) throw new Error(trimmed.error);
    const indexed = trimmed.facts;
    const inventory = memoryInventory({ pods: [indexed, pods[1]], pdbs: [pdb] });
    const facts: EvictionFacts = { pod: pods[1], pdbs: [pdb], podsInNamespace: () => inventory.podsInNamespace('shop'), source: 'snapshot' };
    for (const settled of [new Set<string>(), new Set(['shop/web-1'])]) {
      const planned = factsWithPlan(facts, { evictions: [evicted(indexed)], settled }, NOW).podsInNamespace().find((pod) => pod.name === 'web-1');
      expect(planned).toEqual({ ...plainPod(indexed), deleting: settled.size === 0, ready: true });
      expect(planned!.volumes).toEqual([{ name: 'kube-api-access-x2x9k', source: 'projected' }]);
      expect(planned!.conditions).toEqual(indexed.conditions);
    }
  });

  it('gives a settled eviction its Ready replacement: the budget is back, the pod left its node and is no disruption', () => {
    const facts = factsWithPlan(factsOf(pods[1]), { evictions: [evicted(pods[0])], settled: new Set(['shop/web-1']) }, NOW);
    expect(facts.pdbs[0].status).toMatchObject({ currentHealthy: 3, disruptionsAllowed: 1, disruptedPods: {} });
    expect(facts.context!.isRecordedDisruption(pods[0])).toBe(false);
    expect(facts.context!.peers('node').map((pod) => pod.name)).toEqual(['web-2']);
    expect(facts.context!.peers('owner').map((pod) => pod.name)).toEqual(['web-1', 'web-2', 'web-3']);
  });

  it('loses a settled pod nobody replaces: out of every scope, and out of the PDB health for good', () => {
    const facts = factsWithPlan(factsOf(pods[1]), { evictions: [evicted(pods[0], { isReplaced: false })], settled: new Set(['shop/web-1']) }, NOW);
    expect(facts.pdbs[0].status).toMatchObject({ currentHealthy: 2, disruptionsAllowed: 0 });
    expect(facts.context!.peers('namespace').map((pod) => pod.name)).toEqual(['web-2', 'web-3']);
    expect(facts.podsInNamespace().map((pod) => pod.name)).toEqual(['web-2', 'web-3']);
  });

  it("drops the reservations of planned pods, which the plan counts itself, and keeps the others'", () => {
    const reservations = { holds: () => true, isReserved: () => true };
    const facts = factsWithPlan({ ...factsOf(pods[1]), reservations }, { evictions: [evicted(pods[0])], settled: new Set(['shop/web-1']) }, NOW);
    expect([pods[0], pods[2]].map((pod) => facts.reservations!.isReserved(pod))).toEqual([false, true]);
    expect([pods[0], pods[2]].map((pod) => facts.reservations!.holds({ scope: 'owner', key: 'shop/ReplicaSet/web-7d9c5b7f6' }, pod))).toEqual([false, true]);
  });

  it('counts an eviction reserved outside the plan through its reservation until it settles, without touching PDBs: the API server records its own', () => {
    const reserved = reservedEviction(pods[2]);
    expect(reserved).toEqual({ key: 'shop/web-3', pod: pods[2], pdbs: [], usedBudget: false, wasHealthy: false, isReplaced: true, reserved: true });
    const reservations = { holds: () => true, isReserved: () => true };
    const inFlight = factsWithPlan({ ...factsOf(pods[1]), reservations }, { evictions: [reserved], settled: new Set() }, NOW);
    expect(inFlight.pdbs[0].status).toEqual(pdb.status);
    expect([inFlight.reservations!.isReserved(pods[2]), inFlight.context!.isRecordedDisruption(pods[2])]).toEqual([true, false]);
    const replaced = factsWithPlan({ ...factsOf(pods[1]), reservations }, { evictions: [reserved], settled: new Set(['shop/web-3']) }, NOW);
    expect([replaced.reservations!.isReserved(pods[2]), replaced.context!.isRecordedDisruption(pods[2])]).toEqual([false, false]);
    expect(replaced.context!.peers('owner').map((pod) => pod.name)).toEqual(['web-1', 'web-2', 'web-3']);
  });

  it('leaves a PDB the controller does not maintain as it is (stale status, SyncFailed)', () => {
    const stale = pdbFacts('web-pdb', { generation: 2 }, { currentHealthy: 3, desiredHealthy: 2, disruptionsAllowed: 1, observedGeneration: 1 });
    const facts = factsWithPlan(factsOf(pods[1], [stale]), { evictions: [evicted(pods[0], { usedBudget: false })], settled: new Set() }, NOW);
    expect(facts.pdbs[0]).toBe(stale);
  });
});
