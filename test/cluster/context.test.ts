import { contextFromFacts, evictionContext, type ClusterLookups } from '../../src/cluster/context';
import type { NamespaceFacts, NodeFacts, PdbFacts, PodFacts, WorkloadFacts } from '../../src/domain';
import { factsFor, pdbFacts, podFacts } from '../helpers/facts';

function workload(kind: string, name: string, replicas: number, owner?: { kind: string; name: string }): WorkloadFacts {
  return { kind, namespace: 'shop', name, replicas, readyReplicas: replicas - 1, labels: {}, templateLabels: {}, ...(owner ? { owner } : {}) };
}

function lookupsOf(pods: PodFacts[], workloads: WorkloadFacts[] = [], namespaces: NamespaceFacts[] = [], pdbs: PdbFacts[] = [], nodes: NodeFacts[] = []): ClusterLookups {
  return {
    workload: (kind, namespace, name) => workloads.find((w) => w.kind === kind && w.namespace === namespace && w.name === name),
    namespace: (name) => namespaces.find((n) => n.name === name),
    node: (name) => nodes.find((n) => n.name === name),
    podsInNamespace: (namespace) => pods.filter((pod) => pod.namespace === namespace),
    podsOnNode: (node) => pods.filter((pod) => pod.nodeName === node),
    isRecordedDisruption: (pod) => pdbs.some((pdb) => pdb.namespace === pod.namespace && Object.hasOwn(pdb.status.disruptedPods, pod.name)),
  };
}

const ofRs = (name: string, rs: string, overrides: Partial<PodFacts> = {}) => podFacts(name, { owner: { kind: 'ReplicaSet', name: rs }, ...overrides });

describe('evictionContext()', () => {
  const deployment = workload('Deployment', 'web', 4);
  const replicaSets = [workload('ReplicaSet', 'web-old', 1, { kind: 'Deployment', name: 'web' }), workload('ReplicaSet', 'web-new', 3, { kind: 'Deployment', name: 'web' })];

  it('resolves a ReplicaSet pod to its Deployment, with spec replicas', () => {
    const pod = ofRs('web-1', 'web-new');
    const context = evictionContext(pod, lookupsOf([pod], [deployment, ...replicaSets]), []);
    expect(context.owner).toEqual({ kind: 'Deployment', name: 'web', replicas: 4, readyReplicas: 3, replicasFrom: 'spec' });
  });

  it('puts the pods of every ReplicaSet of the Deployment among the owner peers', () => {
    const pods = [ofRs('web-1', 'web-new'), ofRs('web-2', 'web-old'), ofRs('other', 'api-rs'), podFacts('bare', { owner: undefined })];
    const context = evictionContext(pods[0], lookupsOf(pods, [deployment, ...replicaSets]), []);
    expect(context.peers('owner').map((pod) => pod.name)).toEqual(['web-1', 'web-2']);
  });

  it('looks up the owner chain only when the owner or its peers are read, and once', () => {
    const pod = ofRs('web-1', 'web-new');
    const lookups = lookupsOf([pod], [deployment, ...replicaSets]);
    const workloadLookup = jest.spyOn(lookups, 'workload');
    const context = evictionContext(pod, lookups, []);
    expect(context.namespace).toBeUndefined();
    expect(context.peers('namespace')).toEqual([pod]);
    expect(workloadLookup).not.toHaveBeenCalled();

    expect(context.owner).toMatchObject({ kind: 'Deployment', name: 'web' });
    expect(context.peers('owner')).toEqual([pod]);
    // The pod's own chain once for the owner (ReplicaSet, then Deployment), and once per peer compared.
    expect(workloadLookup.mock.calls.filter(([kind]) => kind === 'ReplicaSet')).toHaveLength(2);
  });

  it('keeps a ReplicaSet without a Deployment, and a StatefulSet, as the owner', () => {
    const standalone = workload('ReplicaSet', 'solo', 2);
    const pod = ofRs('solo-1', 'solo');
    expect(evictionContext(pod, lookupsOf([pod], [standalone]), []).owner).toMatchObject({ kind: 'ReplicaSet', name: 'solo', replicas: 2, replicasFrom: 'spec' });
    const dbPod = podFacts('db-0', { owner: { kind: 'StatefulSet', name: 'db' } });
    expect(evictionContext(dbPod, lookupsOf([dbPod], [workload('StatefulSet', 'db', 3)]), []).owner).toMatchObject({ kind: 'StatefulSet', replicas: 3 });
  });

  it('counts the running pods of a controller it does not hold, such as a DaemonSet', () => {
    const owner = { kind: 'DaemonSet', name: 'agent' };
    const pods = [
      podFacts('agent-a', { owner }),
      podFacts('agent-b', { owner, ready: false }),
      podFacts('agent-c', { owner, phase: 'Failed' }),
      podFacts('web-1'),
    ];
    expect(evictionContext(pods[0], lookupsOf(pods), []).owner).toEqual({ kind: 'DaemonSet', name: 'agent', replicas: 2, readyReplicas: 1, replicasFrom: 'pods' });
  });

  it('makes a pod without a controller its own single-replica owner', () => {
    const pod = podFacts('lonely', { owner: undefined });
    const context = evictionContext(pod, lookupsOf([pod, podFacts('web-1')]), []);
    expect(context.owner).toEqual({ kind: 'Pod', name: 'lonely', replicas: 1, readyReplicas: 1, replicasFrom: 'pods' });
    expect(context.peers('owner')).toEqual([pod]);
  });

  it('finds the pods of the node across namespaces, and none for an unscheduled pod', () => {
    const pods = [podFacts('web-1'), podFacts('cache-0', { namespace: 'infra' }), podFacts('far', { nodeName: 'node-b' })];
    expect(evictionContext(pods[0], lookupsOf(pods), []).peers('node').map((pod) => pod.name)).toEqual(['web-1', 'cache-0']);
    expect(evictionContext(podFacts('pending', { nodeName: undefined }), lookupsOf(pods), []).peers('node')).toEqual([]);
  });

  it('includes a pod read live that the index does not hold yet among its peers', () => {
    const fresh = ofRs('web-9', 'web-new');
    const context = evictionContext(fresh, lookupsOf([ofRs('web-1', 'web-new')], [deployment, ...replicaSets]), []);
    expect(context.peers('owner').map((pod) => pod.name)).toEqual(['web-1', 'web-9']);
    expect(context.peers('namespace').map((pod) => pod.name)).toEqual(['web-1', 'web-9']);
  });

  it("reads disruptedPods from the decision's PDBs for the pod's namespace and from the index for others", () => {
    const at = '2024-06-05T10:00:00Z';
    const live = [pdbFacts('live', {}, { disruptedPods: { 'web-2': at } }), pdbFacts('other', {}, { disruptedPods: { 'web-3': at } })];
    const cached = [pdbFacts('cached', {}, { disruptedPods: { stale: at } }), pdbFacts('infra-pdb', { namespace: 'infra' }, { disruptedPods: { 'cache-0': at } })];
    const context = evictionContext(podFacts('web-1'), lookupsOf([], [], [], cached), live);
    const recorded = (namespace: string, name: string) => context.isRecordedDisruption(podFacts(name, { namespace }));
    expect([recorded('shop', 'web-2'), recorded('shop', 'web-3'), recorded('shop', 'stale'), recorded('shop', 'web-1')]).toEqual([true, true, false, false]);
    expect([recorded('infra', 'cache-0'), recorded('infra', 'web-2')]).toEqual([true, false]);
  });

  it('gives the namespace facts the source holds', () => {
    const namespace = { name: 'shop', labels: { env: 'prod' }, annotations: {} };
    expect(evictionContext(podFacts('web-1'), lookupsOf([], [], [namespace]), []).namespace).toBe(namespace);
  });

  it("gives the Node of the pod's spec.nodeName, and none when the pod is unscheduled or the Node is not held", () => {
    const node: NodeFacts = { name: 'node-a', labels: {}, annotations: {}, unschedulable: true, taints: [], conditions: [] };
    const lookups = lookupsOf([], [], [], [], [node]);
    expect(evictionContext(podFacts('web-1'), lookups, []).node).toBe(node);
    expect(evictionContext(podFacts('pending', { nodeName: undefined }), lookups, []).node).toBeUndefined();
    expect(evictionContext(podFacts('elsewhere', { nodeName: 'node-gone' }), lookups, []).node).toBeUndefined();
  });
});

describe('contextFromFacts()', () => {
  it('counts owners from the namespace pods and knows nothing beyond the facts', () => {
    const pod = ofRs('web-1', 'web-rs');
    const pdb = pdbFacts('web-pdb', {}, { disruptedPods: { 'web-2': '2024-06-05T10:00:00Z' } });
    const facts = factsFor(pod, [pdb], [ofRs('web-2', 'web-rs'), podFacts('db-0', { owner: { kind: 'StatefulSet', name: 'db' } })]);
    const context = contextFromFacts(pod, facts);
    expect(context.owner).toMatchObject({ kind: 'ReplicaSet', name: 'web-rs', replicas: 2, replicasFrom: 'pods' });
    expect(context.namespace).toBeUndefined();
    expect(context.node).toBeUndefined();
    expect(context.isRecordedDisruption(podFacts('web-2'))).toBe(true);
    expect(context.isRecordedDisruption(podFacts('web-2', { namespace: 'other' }))).toBe(false);
    expect(context.peers('namespace').map((p) => p.name)).toEqual(['web-1', 'web-2', 'db-0']);
    expect(context.peers('owner').map((p) => p.name)).toEqual(['web-1', 'web-2']);
  });
});
