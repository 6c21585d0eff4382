import { Interner } from '../../src/cluster/intern';
import { trimNamespace, trimPdb, trimPod, trimWorkload } from '../../src/cluster/trim';

function facts<T>(result: { facts: T } | { error: string }): T {
  if ('error' in result) throw new Error(`expected facts, got error: ${result.error}`);
  return result.facts;
}

const fatPod = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: {
    name: 'web-7d9c5b7f6-x2x9k',
    namespace: 'shop',
    uid: 'uid-web-1',
    resourceVersion: '4711',
    generateName: 'web-7d9c5b7f6-',
    creationTimestamp: '2025-05-01T08:00:00Z',
    labels: { app: 'web', 'pod-template-hash': '7d9c5b7f6' },
    annotations: {
      'kubernetes.io/config.mirror': 'abc123',
      'evictionguard.io/protect': 'true',
      'kubectl.kubernetes.io/last-applied-configuration': '{"huge":"json"}',
      'prometheus.io/scrape': 'true',
    },
    ownerReferences: [
      { apiVersion: 'v1', kind: 'ConfigMap', name: 'not-the-controller', uid: 'uid-cm' },
      { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-7d9c5b7f6', uid: 'uid-rs', controller: true, blockOwnerDeletion: true },
    ],
    managedFields: [{ manager: 'kube-controller-manager', operation: 'Update', fieldsV1: { 'f:metadata': {} } }],
  },
  spec: {
    nodeName: 'node-a',
    containers: [{ name: 'web', image: 'registry.example.com/web:1', env: [{ name: 'A', value: 'b' }] }],
    volumes: [{ name: 'config', configMap: { name: 'web' } }, { name: 'cache', emptyDir: {} }],
    tolerations: [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute' }],
  },
  status: {
    phase: 'Running',
    podIP: '10.0.0.1',
    conditions: [
      { type: 'PodScheduled', status: 'True' },
      { type: 'Ready', status: 'True' },
    ],
    containerStatuses: [{ name: 'web', ready: true, restartCount: 0 }],
  },
};

describe('trimPod', () => {
  it('keeps exactly the fields decisions need and drops spec, containers, status details and managedFields', () => {
    const pod = facts(trimPod(fatPod, new Interner()));
    expect(pod).toStrictEqual({
      namespace: 'shop',
      name: 'web-7d9c5b7f6-x2x9k',
      uid: 'uid-web-1',
      resourceVersion: '4711',
      labels: { app: 'web', 'pod-template-hash': '7d9c5b7f6' },
      phase: 'Running',
      ready: true,
      deleting: false,
      nodeName: 'node-a',
      owner: { kind: 'ReplicaSet', name: 'web-7d9c5b7f6', uid: 'uid-rs' },
      hasEmptyDir: true,
      annotations: { 'kubernetes.io/config.mirror': 'abc123', 'evictionguard.io/protect': 'true' },
    });
    const serialized = JSON.stringify(pod);
    for (const dropped of ['managedFields', 'containers', 'tolerations', 'podIP', 'last-applied', 'prometheus', 'not-the-controller']) {
      expect(serialized).not.toContain(dropped);
    }
  });

  it('tolerates a pod with only a name: no phase, not ready, no owner, no volumes, default namespace', () => {
    expect(facts(trimPod({ metadata: { name: 'bare' } }, new Interner()))).toStrictEqual({
      namespace: 'default',
      name: 'bare',
      uid: '',
      resourceVersion: undefined,
      labels: {},
      phase: '',
      ready: false,
      deleting: false,
      nodeName: undefined,
      owner: undefined,
      hasEmptyDir: false,
      annotations: {},
    });
  });

  it('reads Ready only from a Ready condition with status True, and deleting from deletionTimestamp', () => {
    const pod = facts(
      trimPod(
        {
          metadata: { name: 'p', namespace: 'n', deletionTimestamp: '2025-05-01T08:00:00Z' },
          status: { phase: 'Running', conditions: [{ type: 'ContainersReady', status: 'True' }, { type: 'Ready', status: 'False' }] },
        },
        new Interner(),
      ),
    );
    expect(pod.ready).toBe(false);
    expect(pod.deleting).toBe(true);
  });

  it('shares one label object, owner and strings between pods of the same workload', () => {
    const interner = new Interner();
    const second = { ...fatPod, metadata: { ...fatPod.metadata, name: 'web-7d9c5b7f6-4m8qz', labels: { ...fatPod.metadata.labels } } };
    const a = facts(trimPod(fatPod, interner));
    const b = facts(trimPod(JSON.parse(JSON.stringify(second)), interner));
    expect(b.labels).toBe(a.labels);
    expect(b.owner).toBe(a.owner);
    expect(Object.isFrozen(a.labels)).toBe(true);
  });

  it('answers an error naming the kind for an object without metadata.name', () => {
    expect(trimPod({ metadata: {} }, new Interner())).toEqual({ error: 'Pod has no metadata.name' });
    expect(trimPod('not an object', new Interner())).toEqual({ error: 'Pod has no metadata.name' });
  });
});

describe('trimPdb', () => {
  it('keeps spec and status fields and drops the rest', () => {
    const pdb = facts(
      trimPdb(
        {
          apiVersion: 'policy/v1',
          kind: 'PodDisruptionBudget',
          metadata: { name: 'web-pdb', namespace: 'shop', uid: 'u1', resourceVersion: '9', generation: 2, managedFields: [{}] },
          spec: {
            selector: { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['a', 'b'] }] },
            minAvailable: '50%',
            unhealthyPodEvictionPolicy: 'AlwaysAllow',
          },
          status: {
            observedGeneration: 1,
            disruptionsAllowed: 1,
            currentHealthy: 3,
            desiredHealthy: 2,
            expectedPods: 3,
            disruptedPods: { 'web-1': '2025-05-01T08:00:00Z' },
            conditions: [{ type: 'DisruptionAllowed', status: 'True', reason: 'SufficientPods', message: '', lastTransitionTime: 'x' }],
          },
        },
        new Interner(),
      ),
    );
    expect(pdb).toStrictEqual({
      namespace: 'shop',
      name: 'web-pdb',
      uid: 'u1',
      resourceVersion: '9',
      generation: 2,
      selector: { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['a', 'b'] }] },
      minAvailable: '50%',
      maxUnavailable: undefined,
      unhealthyPodEvictionPolicy: 'AlwaysAllow',
      status: {
        observedGeneration: 1,
        disruptionsAllowed: 1,
        currentHealthy: 3,
        desiredHealthy: 2,
        expectedPods: 3,
        disruptedPods: { 'web-1': '2025-05-01T08:00:00Z' },
        conditions: [{ type: 'DisruptionAllowed', status: 'True', reason: 'SufficientPods', message: '' }],
      },
    });
  });

  it('gives a PDB without spec.selector a null selector and a missing status zeros', () => {
    const pdb = facts(trimPdb({ metadata: { name: 'p', namespace: 'n' }, spec: { maxUnavailable: 1 } }, new Interner()));
    expect(pdb.selector).toBeNull();
    expect(pdb.maxUnavailable).toBe(1);
    expect(pdb.status).toStrictEqual({
      observedGeneration: undefined,
      disruptionsAllowed: 0,
      currentHealthy: 0,
      desiredHealthy: 0,
      expectedPods: 0,
      disruptedPods: {},
      conditions: [],
    });
  });

  it('keeps an empty policy/v1 selector as {} (matches every pod)', () => {
    const pdb = facts(trimPdb({ apiVersion: 'policy/v1', metadata: { name: 'p', namespace: 'n' }, spec: { selector: {} } }, new Interner()));
    expect(pdb.selector).toStrictEqual({});
  });

  it('turns an empty policy/v1beta1 selector into the match-none selector the API server stores', () => {
    const pdb = facts(trimPdb({ apiVersion: 'policy/v1beta1', metadata: { name: 'p', namespace: 'n' }, spec: { selector: {} } }, new Interner()));
    expect(pdb.selector).toStrictEqual({
      matchExpressions: [{ key: 'pdb.kubernetes.io/deprecated-v1beta1-empty-selector-match', operator: 'Exists' }],
    });
  });
});

describe('trimWorkload and trimNamespace', () => {
  it('keeps kind, identity, replicas, readyReplicas, controller, labels and pod template labels of a ReplicaSet', () => {
    const rs = facts(
      trimWorkload(
        'ReplicaSet',
        {
          metadata: {
            name: 'web-7d9c5b7f6',
            namespace: 'shop',
            uid: 'uid-rs',
            labels: { app: 'web' },
            ownerReferences: [{ kind: 'Deployment', name: 'web', uid: 'uid-d', controller: true }],
          },
          spec: { replicas: 3, template: { metadata: { labels: { app: 'web', 'pod-template-hash': '7d9c5b7f6' } }, spec: { containers: [] } } },
          status: { readyReplicas: 2 },
        },
        new Interner(),
      ),
    );
    expect(rs).toStrictEqual({
      kind: 'ReplicaSet',
      namespace: 'shop',
      name: 'web-7d9c5b7f6',
      uid: 'uid-rs',
      replicas: 3,
      readyReplicas: 2,
      owner: { kind: 'Deployment', name: 'web', uid: 'uid-d' },
      labels: { app: 'web' },
      templateLabels: { app: 'web', 'pod-template-hash': '7d9c5b7f6' },
    });
  });

  it('keeps a namespace with its labels and only the annotations eviction-guard reads', () => {
    const namespace = facts(
      trimNamespace(
        { metadata: { name: 'shop', uid: 'u', labels: { team: 'a' }, annotations: { 'evictionguard.io/protect': 'true', other: 'x' } } },
        new Interner(),
      ),
    );
    expect(namespace).toStrictEqual({ name: 'shop', uid: 'u', labels: { team: 'a' }, annotations: { 'evictionguard.io/protect': 'true' } });
  });
});
