import type { DisruptionScope, PodFacts } from '../../../src/domain';
import { checkMaxDisruptions, disruptionLimit, maxDisruptionsClaim } from '../../../src/policy/rules/max-disruptions';
import { reservationView } from '../../../src/reservation/record';
import type { MaxDisruptionsRule } from '../../../src/policy/schema';
import { pdbFacts, podFacts } from '../../helpers/facts';
import { policy, ruleInput } from '../../helpers/policies';

const rule = (per: DisruptionScope, count: number | string) =>
  policy('m', `rules: [{ maxDisruptions: { per: ${per}, count: ${JSON.stringify(count)} } }]`).rules[0] as MaxDisruptionsRule;
const web = (name: string, overrides: Partial<PodFacts> = {}) => podFacts(name, { owner: { kind: 'ReplicaSet', name: 'web-rs' }, ...overrides });
const terminating = (name: string, overrides: Partial<PodFacts> = {}) => web(name, { deleting: true, ...overrides });

describe('disruptionLimit()', () => {
  it.each([
    [{ pods: 2 }, 10, 2],
    [{ percent: 10 }, 25, 3],
    [{ percent: 10 }, 20, 2],
    [{ percent: 10 }, 3, 1],
    [{ percent: 50 }, 5, 3],
    [{ percent: 100 }, 4, 4],
    [{ percent: 10 }, 0, 1],
  ])('%j of %i pods allows %i at once (percentages round up, at least 1)', (limit, pods, expected) => {
    expect(disruptionLimit(limit, pods)).toBe(expected);
  });
});

describe('maxDisruptions rule', () => {
  it('passes while fewer pods of the owner are in disruption than the limit', () => {
    expect(checkMaxDisruptions(rule('owner', 1), ruleInput({ pod: web('web-1'), others: [web('web-2'), web('web-3')] }))).toBeUndefined();
    expect(checkMaxDisruptions(rule('owner', 2), ruleInput({ pod: web('web-1'), others: [terminating('web-2'), web('web-3')] }))).toBeUndefined();
  });

  it('denies retryably when one more would exceed the limit, naming the pods already in disruption', () => {
    const violation = checkMaxDisruptions(rule('owner', 1), ruleInput({ pod: web('web-1'), others: [terminating('web-2'), web('web-3')] }));
    expect(violation).toEqual({
      message: '1 pod of ReplicaSet shop/web-rs is already in disruption (web-2); the limit is 1.',
      summary: '1 pod of ReplicaSet shop/web-rs already in disruption, limit 1',
      hint: 'retry once they are replaced; kubectl drain retries on its own',
      retryable: true,
    });
  });

  it("counts pods a PDB lists in disruptedPods, once even when they also terminate", () => {
    const pdb = pdbFacts('web-pdb', {}, { disruptedPods: { 'web-2': '2024-06-05T09:59:00Z', 'web-3': '2024-06-05T09:59:30Z' } });
    const input = ruleInput({ pod: web('web-1'), pdbs: [pdb], others: [terminating('web-2'), web('web-3'), web('web-4')] });
    expect(checkMaxDisruptions(rule('owner', 3), input)).toBeUndefined();
    expect(checkMaxDisruptions(rule('owner', 2), input)?.message).toBe('2 pods of ReplicaSet shop/web-rs are already in disruption (web-2, web-3); the limit is 2.');
  });

  it('passes for a pod that is itself already in disruption: evicting it again adds none', () => {
    const pdb = pdbFacts('web-pdb', {}, { disruptedPods: { 'web-1': '2024-06-05T09:59:00Z' } });
    expect(checkMaxDisruptions(rule('owner', 1), ruleInput({ pod: web('web-1'), pdbs: [pdb], others: [terminating('web-2')] }))).toBeUndefined();
  });

  it('takes a percentage of the owner replicas, rounded up', () => {
    const others = [terminating('web-2'), terminating('web-3'), web('web-4')];
    const owner = { kind: 'Deployment', name: 'web', replicas: 25, readyReplicas: 25, replicasFrom: 'spec' as const };
    // 10% of 25 is 2.5, so 3 at once: 2 in disruption plus this one is fine.
    expect(checkMaxDisruptions(rule('owner', '10%'), ruleInput({ pod: web('web-1'), others, context: { owner } }))).toBeUndefined();
    const violation = checkMaxDisruptions(rule('owner', '10%'), ruleInput({ pod: web('web-1'), others, context: { owner: { ...owner, replicas: 20 } } }));
    expect(violation?.message).toBe('2 pods of Deployment shop/web are already in disruption (web-2, web-3); the limit is 2 (10% of 20 replicas, rounded up).');
  });

  it('counts every pod of the namespace, whatever its owner, per namespace', () => {
    const others = [podFacts('db-0', { deleting: true, owner: { kind: 'StatefulSet', name: 'db' } }), web('web-2')];
    expect(checkMaxDisruptions(rule('owner', 1), ruleInput({ pod: web('web-1'), others }))).toBeUndefined();
    expect(checkMaxDisruptions(rule('namespace', 1), ruleInput({ pod: web('web-1'), others }))?.message).toBe(
      '1 pod in namespace shop is already in disruption (db-0); the limit is 1.',
    );
    // 50% of the 3 pods in the namespace is 2 at once.
    expect(checkMaxDisruptions(rule('namespace', '50%'), ruleInput({ pod: web('web-1'), others }))).toBeUndefined();
  });

  it('counts the pods of the node across namespaces, per node', () => {
    const elsewhere = podFacts('cache-0', { namespace: 'infra', deleting: true, nodeName: 'node-a' });
    const infraPdb = pdbFacts('cache-pdb', { namespace: 'infra' }, { disruptedPods: { 'cache-1': '2024-06-05T09:59:00Z' } });
    const cacheOne = podFacts('cache-1', { namespace: 'infra', nodeName: 'node-a' });
    const otherNode = podFacts('far', { deleting: true, nodeName: 'node-b' });
    const input = ruleInput({
      pod: web('web-1'),
      context: {
        peers: () => [web('web-1'), elsewhere, cacheOne, podFacts('x', { nodeName: 'node-a' })],
        isRecordedDisruption: (pod) => pod.namespace === 'infra' && Object.hasOwn(infraPdb.status.disruptedPods, pod.name),
      },
      others: [otherNode],
    });
    expect(checkMaxDisruptions(rule('node', 3), input)).toBeUndefined();
    expect(checkMaxDisruptions(rule('node', 2), input)?.message).toBe('2 pods on node node-a are already in disruption (infra/cache-0, infra/cache-1); the limit is 2.');
  });

  it('passes per node for a pod that is not scheduled', () => {
    expect(checkMaxDisruptions(rule('node', 1), ruleInput({ pod: web('web-1', { nodeName: undefined }), others: [terminating('web-2')] }))).toBeUndefined();
  });

  it('leaves finished pods out of both the count and the pods in scope', () => {
    const others = [terminating('done', { phase: 'Succeeded' }), web('failed', { phase: 'Failed' }), web('web-2')];
    expect(checkMaxDisruptions(rule('namespace', 1), ruleInput({ pod: web('web-1'), others }))).toBeUndefined();
  });

  it('names five pods and counts the rest', () => {
    const others = Array.from({ length: 7 }, (_, index) => terminating(`web-${index + 2}`));
    expect(checkMaxDisruptions(rule('owner', 2), ruleInput({ pod: web('web-1'), others }))?.message).toBe(
      '7 pods of ReplicaSet shop/web-rs are already in disruption (web-2, web-3, web-4, web-5, web-6 and 2 more); the limit is 2.',
    );
  });

  describe('with reservations', () => {
    const NOW = Date.parse('2024-06-05T10:00:00Z');
    const owner = { scope: 'owner' as const, key: 'shop/ReplicaSet/web-rs' };
    const reserved = (scope: typeof owner | { scope: 'node'; key: string }, ...names: string[]) =>
      reservationView(
        [{ scope, entries: names.map((name) => ({ namespace: 'shop', name, uid: `${name}-uid`, reservedAt: NOW, expiresAt: NOW + 60_000, by: 'a' })) }],
        NOW,
      );

    it('counts reserved pods as in disruption and names them apart from those the cluster shows', () => {
      const input = ruleInput({ pod: web('web-1'), others: [terminating('web-2'), web('web-3'), web('web-4')], reservations: reserved(owner, 'web-3', 'web-4') });
      expect(checkMaxDisruptions(rule('owner', 3), input)).toEqual({
        message: '3 pods of ReplicaSet shop/web-rs are already in disruption (web-2; reserved: web-3, web-4); the limit is 3.',
        summary: '3 pods of ReplicaSet shop/web-rs already in disruption, limit 3',
        hint: 'retry once they are replaced; kubectl drain retries on its own. A reservation ends when its pod is seen terminating, or after its TTL',
        retryable: true,
      });
      expect(checkMaxDisruptions(rule('owner', 4), input)).toBeUndefined();
    });

    it('counts a reservation made in another scope: the pod is about to be evicted all the same', () => {
      const input = ruleInput({ pod: web('web-1'), others: [web('web-2')], reservations: reserved({ scope: 'node', key: 'node-a' }, 'web-2') });
      expect(checkMaxDisruptions(rule('owner', 1), input)?.message).toBe('1 pod of ReplicaSet shop/web-rs is already in disruption (reserved: web-2); the limit is 1.');
    });

    it('claims a slot in the scope for an allowed eviction, and none once the pod holds one there', () => {
      const input = ruleInput({ pod: web('web-1'), others: [web('web-2')] });
      expect(maxDisruptionsClaim(rule('owner', 1), input)).toEqual(owner);
      expect(maxDisruptionsClaim(rule('node', 1), input)).toEqual({ scope: 'node', key: 'node-a' });
      expect(maxDisruptionsClaim(rule('namespace', 1), input)).toEqual({ scope: 'namespace', key: 'shop' });

      const holding = ruleInput({ pod: web('web-1'), others: [terminating('web-2')], reservations: reserved(owner, 'web-1') });
      // Its own slot is taken already: a retry passes even though another pod is in disruption.
      expect(checkMaxDisruptions(rule('owner', 1), holding)).toBeUndefined();
      expect(maxDisruptionsClaim(rule('owner', 1), holding)).toBeUndefined();
      // Held in the owner scope is not held on the node.
      expect(maxDisruptionsClaim(rule('node', 5), holding)).toEqual({ scope: 'node', key: 'node-a' });
    });

    it('claims nothing for a pod the cluster already shows in disruption, a pod without a controller, or an unscheduled pod per node', () => {
      expect(maxDisruptionsClaim(rule('owner', 1), ruleInput({ pod: terminating('web-1') }))).toBeUndefined();
      expect(maxDisruptionsClaim(rule('owner', 1), ruleInput({ pod: podFacts('solo', { owner: undefined }) }))).toBeUndefined();
      expect(maxDisruptionsClaim(rule('node', 1), ruleInput({ pod: web('web-1', { nodeName: undefined }) }))).toBeUndefined();
    });
  });
});
