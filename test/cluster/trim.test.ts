import { Interner } from '../../src/cluster/intern';
import { cutUtf8, trimNamespace, trimNode, trimPdb, trimPod, trimWorkload } from '../../src/cluster/trim';
import { ANNOTATION_VALUE_CAP_BYTES, ANNOTATIONS_CAP_BYTES, plainPod } from '../../src/domain';

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
    serviceAccountName: 'web',
    priorityClassName: 'high',
    priority: 1000,
    containers: [{ name: 'web', image: 'registry.example.com/web:1', env: [{ name: 'A', value: 'b' }] }],
    volumes: [
      { name: 'config', configMap: { name: 'web' } },
      { name: 'cache', emptyDir: {} },
      { name: 'data', persistentVolumeClaim: { claimName: 'data-web' } },
      { name: 'kube-api-access-x2x9k', projected: { sources: [{ serviceAccountToken: { path: 'token' } }] } },
    ],
    tolerations: [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute' }],
  },
  status: {
    phase: 'Running',
    podIP: '10.0.0.1',
    startTime: '2025-05-01T08:00:01Z',
    conditions: [
      { type: 'PodScheduled', status: 'True', lastTransitionTime: '2025-05-01T08:00:00Z', lastProbeTime: null },
      { type: 'Ready', status: 'True', lastTransitionTime: '2025-05-01T08:00:09Z', reason: 'ignored' },
    ],
    containerStatuses: [{ name: 'web', ready: true, restartCount: 0 }],
  },
};

describe('trimPod', () => {
  it('keeps exactly the fields decisions and policies read and drops containers, status details and managedFields', () => {
    const pod = facts(trimPod(fatPod, new Interner()));
    expect(plainPod(pod)).toStrictEqual({
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
      // Every annotation but last-applied-configuration, in key order.
      annotations: { 'evictionguard.io/protect': 'true', 'kubernetes.io/config.mirror': 'abc123', 'prometheus.io/scrape': 'true' },
      creationTimestamp: '2025-05-01T08:00:00Z',
      deletionTimestamp: undefined,
      ownerReferences: [
        { apiVersion: 'v1', kind: 'ConfigMap', name: 'not-the-controller', uid: 'uid-cm', controller: undefined },
        { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-7d9c5b7f6', uid: 'uid-rs', controller: true },
      ],
      priorityClassName: 'high',
      priority: 1000,
      serviceAccountName: 'web',
      volumes: [
        { name: 'config', source: 'configMap' },
        { name: 'cache', source: 'emptyDir' },
        { name: 'data', source: 'persistentVolumeClaim' },
        { name: 'kube-api-access-x2x9k', source: 'projected' },
      ],
      conditions: [
        { type: 'PodScheduled', status: 'True', lastTransitionTime: '2025-05-01T08:00:00Z' },
        { type: 'Ready', status: 'True', lastTransitionTime: '2025-05-01T08:00:09Z' },
      ],
      startTime: '2025-05-01T08:00:01Z',
    });
    const serialized = JSON.stringify(pod);
    expect(JSON.parse(serialized)).toEqual(plainPod(pod));
    for (const dropped of ['managedFields', 'containers', 'tolerations', 'podIP', 'last-applied', 'claimName', 'serviceAccountToken', 'blockOwnerDeletion', 'lastProbeTime']) {
      expect(serialized).not.toContain(dropped);
    }
  });

  it('tolerates a pod with only a name: no phase, not ready, no owner, no volumes, default namespace', () => {
    expect(plainPod(facts(trimPod({ metadata: { name: 'bare' } }, new Interner())))).toStrictEqual({
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
      creationTimestamp: undefined,
      deletionTimestamp: undefined,
      ownerReferences: [],
      priorityClassName: undefined,
      priority: undefined,
      serviceAccountName: undefined,
      volumes: [],
      conditions: [],
      startTime: undefined,
    });
  });

  it("names a volume's source '' when it has none, and skips entries that are not objects", () => {
    const pod = facts(trimPod({ metadata: { name: 'p', ownerReferences: ['junk'] }, spec: { volumes: [{ name: 'odd' }, 'junk', null] } }, new Interner()));
    expect(pod.volumes).toStrictEqual([{ name: 'odd', source: '' }]);
    expect(pod.ownerReferences).toStrictEqual([]);
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
    expect(pod.deletionTimestamp).toBe('2025-05-01T08:00:00Z');
  });

  it('shares one label object, owner, annotations and profile between pods of the same workload, and keeps each pod its own volume names', () => {
    const interner = new Interner();
    const second = {
      ...fatPod,
      metadata: { ...fatPod.metadata, name: 'web-7d9c5b7f6-4m8qz', creationTimestamp: '2025-05-01T08:01:00Z', labels: { ...fatPod.metadata.labels } },
      spec: { ...fatPod.spec, volumes: fatPod.spec.volumes.map((volume) => (volume.name.startsWith('kube-api-access-') ? { ...volume, name: 'kube-api-access-4m8qz' } : volume)) },
      status: { ...fatPod.status, startTime: '2025-05-01T08:01:01Z', conditions: fatPod.status.conditions.map((condition) => ({ ...condition, lastTransitionTime: condition.lastTransitionTime.replace('08:00:', '08:01:') })) },
    };
    const a = facts(trimPod(fatPod, interner));
    const b = facts(trimPod(JSON.parse(JSON.stringify(second)), interner));
    expect(b.labels).toBe(a.labels);
    expect(b.owner).toBe(a.owner);
    expect(b.annotations).toBe(a.annotations);
    expect(b.ownerReferences).toBe(a.ownerReferences);
    expect(Object.isFrozen(a.labels)).toBe(true);
    expect(Object.isFrozen(a.ownerReferences)).toBe(true);
    expect(b.volumes.map((volume) => volume.name)).toEqual(['config', 'cache', 'data', 'kube-api-access-4m8qz']);
    expect(a.volumes.map((volume) => volume.name)).toEqual(['config', 'cache', 'data', 'kube-api-access-x2x9k']);
    expect(b.creationTimestamp).toBe('2025-05-01T08:01:00Z');
    expect(b.startTime).toBe('2025-05-01T08:01:01Z');
    expect(b.conditions).toEqual([
      { type: 'PodScheduled', status: 'True', lastTransitionTime: '2025-05-01T08:01:00Z' },
      { type: 'Ready', status: 'True', lastTransitionTime: '2025-05-01T08:01:09Z' },
    ]);
  });

  it('gives pods of one owner that differ in priority, service account, volumes or owner references each their own facts', () => {
    const interner = new Interner();
    const variant = (spec: object, ownerReferences = fatPod.metadata.ownerReferences) =>
      facts(trimPod({ ...fatPod, metadata: { ...fatPod.metadata, ownerReferences }, spec: { ...fatPod.spec, ...spec } }, interner));
    const base = variant({});
    const others = [
      variant({ priority: 5 }),
      variant({ priorityClassName: 'low' }),
      variant({ serviceAccountName: 'other' }),
      variant({ volumes: [{ name: 'config', secret: {} }] }),
      variant({}, [fatPod.metadata.ownerReferences[1]]),
    ];
    expect(others.map((pod) => [pod.priority, pod.priorityClassName, pod.serviceAccountName, pod.volumes[0].source, pod.ownerReferences.length])).toEqual([
      [5, 'high', 'web', 'configMap', 2],
      [1000, 'low', 'web', 'configMap', 2],
      [1000, 'high', 'other', 'configMap', 2],
      [1000, 'high', 'web', 'secret', 2],
      [1000, 'high', 'web', 'configMap', 1],
    ]);
    expect(variant({}).ownerReferences).toBe(base.ownerReferences);
    const bare = [facts(trimPod({ metadata: { name: 'a' } }, interner)), facts(trimPod({ metadata: { name: 'b' }, spec: { priority: 7 } }, interner))];
    expect(bare.map((pod) => pod.priority)).toEqual([undefined, 7]);
  });

  it.each([
    ['fractional seconds', { creationTimestamp: '2025-05-01T08:00:00.5Z' }, '2025-05-01T08:00:03Z'],
    ['a zone offset', { creationTimestamp: '2025-05-01T10:00:00+02:00' }, '2025-05-01T08:00:03Z'],
    ['a condition time that is not RFC 3339', { creationTimestamp: '2025-05-01T08:00:00Z' }, 'yesterday'],
    ['no creation time', {}, '2025-05-01T08:00:03Z'],
    ['a day that does not exist', { creationTimestamp: '2025-02-30T08:00:00Z' }, '2025-05-01T08:00:03Z'],
    ['a leap second', { creationTimestamp: '2016-12-31T23:59:60Z' }, '2025-05-01T08:00:03Z'],
    ['a deletion time', { creationTimestamp: '2025-05-01T08:00:00Z', deletionTimestamp: '2025-05-01T09:00:00.250Z' }, '2025-05-01T08:00:03Z'],
  ])('gives back every time exactly as the API wrote it, also with %s', (_, times, transition) => {
    const pod = facts(
      trimPod(
        {
          metadata: { name: 'p', ...times },
          status: { startTime: '2025-05-01T08:00:01Z', conditions: [{ type: 'Ready', status: 'False', lastTransitionTime: transition }, { type: 'PodScheduled', status: 'True' }] },
        },
        new Interner(),
      ),
    );
    expect(pod).toMatchObject({ creationTimestamp: (times as { creationTimestamp?: string }).creationTimestamp, deletionTimestamp: (times as { deletionTimestamp?: string }).deletionTimestamp, startTime: '2025-05-01T08:00:01Z' });
    expect(pod.conditions).toEqual([
      { type: 'Ready', status: 'False', lastTransitionTime: transition },
      { type: 'PodScheduled', status: 'True', lastTransitionTime: undefined },
    ]);
  });

  it.each(['4711', '0', '007', '2147483647', '2147483648', '99999999999', 'opaque-1'])('gives back resourceVersion %s as the API wrote it', (version) => {
    expect(facts(trimPod({ metadata: { name: 'p', resourceVersion: version } }, new Interner())).resourceVersion).toBe(version);
  });

  it('gives back a time before the pod was created and a volume name holding the separator', () => {
    const pod = facts(
      trimPod({ metadata: { name: 'p', creationTimestamp: '2025-05-01T08:00:00Z' }, spec: { volumes: [{ name: 'a\u0000b', emptyDir: {} }, { name: '', configMap: {} }] }, status: { startTime: '2025-05-01T07:59:58Z' } }, new Interner()),
    );
    expect(pod.startTime).toBe('2025-05-01T07:59:58Z');
    expect(pod.volumes).toEqual([
      { name: 'a\u0000b', source: 'emptyDir' },
      { name: '', source: 'configMap' },
    ]);
  });

  it('answers an error naming the kind for an object without metadata.name', () => {
    expect(trimPod({ metadata: {} }, new Interner())).toEqual({ error: 'Pod has no metadata.name' });
    expect(trimPod('not an object', new Interner())).toEqual({ error: 'Pod has no metadata.name' });
  });
});

describe('annotation caps', () => {
  const annotationsOf = (annotations: Record<string, unknown>) => facts(trimPod({ metadata: { name: 'p', annotations } }, new Interner())).annotations;
  const bytes = (annotations: Readonly<Record<string, string>>) => Object.entries(annotations).reduce((sum, [key, value]) => sum + Buffer.byteLength(key) + Buffer.byteLength(value), 0);

  it('drops last-applied-configuration and keeps numbers and booleans of hand-written snapshots as strings', () => {
    expect(annotationsOf({ 'kubectl.kubernetes.io/last-applied-configuration': '{}', replicas: 3, enabled: true, nested: { no: 1 } })).toStrictEqual({
      enabled: 'true',
      replicas: '3',
    });
  });

  it('cuts a value to the value cap at a UTF-8 character boundary', () => {
    const ascii = 'a'.repeat(ANNOTATION_VALUE_CAP_BYTES + 100);
    // 'é' is 2 bytes and '€' 3: the cap falls inside a character, which is left out whole.
    const multiByte = 'x' + '€'.repeat(ANNOTATION_VALUE_CAP_BYTES);
    const kept = annotationsOf({ ascii, multiByte, exact: 'é'.repeat(ANNOTATION_VALUE_CAP_BYTES / 2) });
    expect(kept.ascii).toBe('a'.repeat(ANNOTATION_VALUE_CAP_BYTES));
    expect(kept.multiByte).toBe('x' + '€'.repeat(341)); // 1 + 341 × 3 = 1024 bytes
    expect(Buffer.byteLength(kept.multiByte)).toBeLessThanOrEqual(ANNOTATION_VALUE_CAP_BYTES);
    expect(kept.exact).toBe('é'.repeat(ANNOTATION_VALUE_CAP_BYTES / 2));
    expect(cutUtf8('😀😀', 5)).toBe('😀');
    expect(cutUtf8('a😀', 4)).toBe('a');
  });

  it('keeps ours and the well-known do-not-disrupt annotations before others under the total cap, then others in key order', () => {
    const big = 'v'.repeat(1000);
    const annotations: Record<string, string> = {};
    for (let i = 0; i < 12; i++) annotations[`a-${String(i).padStart(2, '0')}`] = big;
    Object.assign(annotations, {
      'z/s': 's',
      'karpenter.sh/do-not-disrupt': 'true',
      'cluster-autoscaler.kubernetes.io/safe-to-evict': 'false',
      'kubernetes.io/config.mirror': 'hash',
      'evictionguard.io/protect': 'true',
      'zz-evictionguard.io/protect': 'not ours',
    });
    const kept = annotationsOf(annotations);
    expect(kept).toMatchObject({
      'karpenter.sh/do-not-disrupt': 'true',
      'cluster-autoscaler.kubernetes.io/safe-to-evict': 'false',
      'kubernetes.io/config.mirror': 'hash',
      'evictionguard.io/protect': 'true',
    });
    // Those take 141 bytes; 1004-byte entries fit 8 times after them (8173 bytes): a-08 and later
    // are dropped, the 4 bytes of z/s still fit, and the 35 of a lookalike of ours do not.
    expect(Object.keys(kept).filter((key) => key.startsWith('a-'))).toEqual(['a-00', 'a-01', 'a-02', 'a-03', 'a-04', 'a-05', 'a-06', 'a-07']);
    expect(kept['z/s']).toBe('s');
    expect(kept['zz-evictionguard.io/protect']).toBeUndefined();
    expect(bytes(kept)).toBeLessThanOrEqual(ANNOTATIONS_CAP_BYTES);
    expect(Object.keys(kept)).toEqual([...Object.keys(kept)].sort());
  });
});

describe('trimNode', () => {
  it('keeps identity, labels, annotations, unschedulable, taints and conditions without heartbeats and messages', () => {
    const node = facts(
      trimNode(
        {
          apiVersion: 'v1',
          kind: 'Node',
          metadata: {
            name: 'node-a',
            uid: 'uid-node-a',
            labels: { 'topology.kubernetes.io/zone': 'eu-west-1a' },
            annotations: { 'node.alpha.kubernetes.io/ttl': '0', 'kubectl.kubernetes.io/last-applied-configuration': '{}' },
            managedFields: [{}],
          },
          spec: { unschedulable: true, podCIDR: '10.0.0.0/24', taints: [{ key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule', timeAdded: '2025-05-01T08:00:00Z' }, { key: 'dedicated', value: 'gpu', effect: 'NoExecute' }] },
          status: {
            conditions: [
              { type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status', lastHeartbeatTime: '2025-05-01T09:00:00Z', lastTransitionTime: '2025-05-01T08:00:00Z' },
            ],
            images: [{ names: ['registry.example.com/web:1'], sizeBytes: 1 }],
            capacity: { cpu: '4' },
          },
        },
        new Interner(),
      ),
    );
    expect(node).toStrictEqual({
      name: 'node-a',
      uid: 'uid-node-a',
      labels: { 'topology.kubernetes.io/zone': 'eu-west-1a' },
      annotations: { 'node.alpha.kubernetes.io/ttl': '0' },
      unschedulable: true,
      taints: [
        { key: 'node.kubernetes.io/unschedulable', value: undefined, effect: 'NoSchedule' },
        { key: 'dedicated', value: 'gpu', effect: 'NoExecute' },
      ],
      conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', lastTransitionTime: '2025-05-01T08:00:00Z' }],
    });
  });

  it('takes a Node without spec as schedulable and untainted, and answers an error without a name', () => {
    expect(facts(trimNode({ metadata: { name: 'bare' } }, new Interner()))).toStrictEqual({
      name: 'bare',
      uid: undefined,
      labels: {},
      annotations: {},
      unschedulable: false,
      taints: [],
      conditions: [],
    });
    expect(trimNode({ metadata: {} }, new Interner())).toEqual({ error: 'Node has no metadata.name' });
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

  it('keeps a namespace with its labels and its annotations within the caps, without last-applied-configuration', () => {
    const annotations = { 'evictionguard.io/protect': 'true', other: 'x', long: 'l'.repeat(5000), 'kubectl.kubernetes.io/last-applied-configuration': '{}' };
    const namespace = facts(trimNamespace({ metadata: { name: 'shop', uid: 'u', labels: { team: 'a' }, annotations } }, new Interner()));
    expect(namespace).toStrictEqual({
      name: 'shop',
      uid: 'u',
      labels: { team: 'a' },
      annotations: { 'evictionguard.io/protect': 'true', long: 'l'.repeat(ANNOTATION_VALUE_CAP_BYTES), other: 'x' },
    });
  });
});
