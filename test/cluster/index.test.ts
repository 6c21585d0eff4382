import { ClusterIndex, NamespacedStore } from '../../src/cluster/index';
import type { PdbFacts, PodFacts } from '../../src/domain';

function pod(namespace: string, name: string): PodFacts {
  return { namespace, name, uid: name, labels: {}, phase: 'Running', ready: true, deleting: false, hasEmptyDir: false, annotations: {} };
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
