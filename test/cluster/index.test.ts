import { ClusterIndex, disruptedPodKeys, NamespacedStore, podNodeKeys } from '../../src/cluster/index';
import type { PdbFacts, PodFacts } from '../../src/domain';

function pod(namespace: string, name: string): PodFacts {
  return { namespace, name, uid: name, labels: {}, phase: 'Running', ready: true, deleting: false, hasEmptyDir: false, annotations: {}, ownerReferences: [], volumes: [], conditions: [] };
}

function pdb(namespace: string, name: string): PdbFacts {
  return {
    namespace,
    name,
    selector: {},
    status: { disruptionsAllowed: 0, currentHealthy: 0, desiredHealthy: 0, expectedPods: 0, disruptedPods: {}, conditions: [] },
  };
}

describe('NamespacedStore', () => {
  it('keeps a secondary index current through updates, moves and deletes', () => {
    const onNode = (name: string, nodeName: string | undefined) => ({ ...pod('shop', name), nodeName });
    const store = new NamespacedStore<PodFacts>(podNodeKeys);
    store.set(onNode('a', 'node-1'));
    store.set(onNode('b', 'node-1'));
    store.set({ ...onNode('c', 'node-2'), namespace: 'tools' });
    store.set(onNode('pending', undefined));
    expect(store.withKey('node-1').map((p) => p.name)).toEqual(['a', 'b']);
    store.set(onNode('a', 'node-2'));
    expect(store.withKey('node-1').map((p) => p.name)).toEqual(['b']);
    expect(store.withKey('node-2').map((p) => p.name).sort()).toEqual(['a', 'c']);
    store.delete('shop', 'b');
    expect(store.withKey('node-1')).toEqual([]);
    expect(new NamespacedStore<PodFacts>().withKey('node-2')).toEqual([]);
    expect(new ClusterIndex().pods.withKey('node-1')).toEqual([]);
  });

  it('indexes an object under several keys: PDBs by the pods they record as disrupted', () => {
    const at = '2024-06-05T10:00:00Z';
    const recording = (name: string, disruptedPods: Record<string, string>) => ({ ...pdb('shop', name), status: { ...pdb('shop', name).status, disruptedPods } });
    const store = new ClusterIndex().pdbs;
    store.set(recording('a', { 'web-1': at, 'web-2': at }));
    store.set(recording('b', { 'web-2': at }));
    expect(disruptedPodKeys(recording('a', { 'web-1': at }))).toEqual(['shop/web-1']);
    expect(store.withKey('shop/web-2').map((p) => p.name)).toEqual(['a', 'b']);
    expect([store.hasKey('shop/web-1'), store.hasKey('shop/web-3'), store.secondaryKeyCount]).toEqual([true, false, 2]);
    store.set(recording('a', {}));
    expect(store.withKey('shop/web-1')).toEqual([]);
    expect(store.withKey('shop/web-2').map((p) => p.name)).toEqual(['b']);
  });

  it('looks objects up by namespace and name, and counts each name once', () => {
    const store = new NamespacedStore<PodFacts>();
    store.set(pod('shop', 'a'));
    store.set(pod('shop', 'a'));
    store.set(pod('shop', 'b'));
    store.set(pod('tools', 'a'));
    expect(store.size).toBe(3);
    expect(store.get('tools', 'a')?.namespace).toBe('tools');
    expect(store.get('shop', 'c')).toBeUndefined();
    expect(store.inNamespace('shop').map((p) => p.name).sort()).toEqual(['a', 'b']);
    expect(store.inNamespace('nowhere')).toEqual([]);
  });

  it('forgets deleted objects and empty namespaces', () => {
    const store = new NamespacedStore<PodFacts>();
    store.set(pod('shop', 'a'));
    expect(store.delete('shop', 'a')).toBe(true);
    expect(store.delete('shop', 'a')).toBe(false);
    expect(store.size).toBe(0);
    expect(store.inNamespace('shop')).toEqual([]);
  });
});

describe('ClusterIndex', () => {
  it('answers facts with the pod, every PDB of its namespace and a lazy list of the namespace pods', () => {
    const index = new ClusterIndex();
    index.pods.set(pod('shop', 'web-1'));
    index.pods.set(pod('shop', 'web-2'));
    index.pods.set(pod('tools', 'shell'));
    index.pdbs.set(pdb('shop', 'web-pdb'));
    index.pdbs.set(pdb('tools', 'other'));

    const facts = index.facts('shop', 'web-1', 'cache');
    expect(facts.pod?.name).toBe('web-1');
    expect(facts.pdbs.map((p) => p.name)).toEqual(['web-pdb']);
    expect(facts.podsInNamespace().map((p) => p.name).sort()).toEqual(['web-1', 'web-2']);
    expect(facts.source).toBe('cache');
    expect(index.facts('shop', 'missing', 'cache').pod).toBeUndefined();
  });
});
