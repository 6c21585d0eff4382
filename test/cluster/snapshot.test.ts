import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SnapshotClusterView, SnapshotError } from '../../src/cluster/snapshot';
import type { ClusterLogger } from '../../src/cluster/view';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'snapshot-test-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, text);
  return file;
}

function loadError(file: string): SnapshotError {
  try {
    SnapshotClusterView.fromFile(file);
  } catch (error) {
    expect(error).toBeInstanceOf(SnapshotError);
    return error as SnapshotError;
  }
  throw new Error(`expected ${file} to be rejected`);
}

// The shape `kubectl get pods,pdb,rs,deploy,sts,ns,nodes,svc -A -o yaml` prints.
const KUBECTL_LIST = `apiVersion: v1
kind: List
metadata:
  resourceVersion: ""
items:
- apiVersion: v1
  kind: Pod
  metadata:
    name: web-1
    namespace: shop
    uid: u-web-1
    labels: {app: web}
    ownerReferences:
    - {apiVersion: apps/v1, kind: ReplicaSet, name: web-abc, uid: u-rs, controller: true}
  spec:
    nodeName: node-a
    containers: [{name: web, image: web:1}]
  status:
    phase: Running
    conditions: [{type: Ready, status: "True"}]
- apiVersion: policy/v1
  kind: PodDisruptionBudget
  metadata: {name: web-pdb, namespace: shop, generation: 1}
  spec: {minAvailable: 1, selector: {matchLabels: {app: web}}}
  status: {observedGeneration: 1, disruptionsAllowed: 0, currentHealthy: 1, desiredHealthy: 1, expectedPods: 1}
- apiVersion: policy/v1beta1
  kind: PodDisruptionBudget
  metadata: {name: legacy-pdb, namespace: shop}
  spec: {maxUnavailable: 1, selector: {}}
- apiVersion: apps/v1
  kind: ReplicaSet
  metadata:
    name: web-abc
    namespace: shop
    uid: u-rs
    ownerReferences: [{apiVersion: apps/v1, kind: Deployment, name: web, uid: u-d, controller: true}]
  spec: {replicas: 1}
  status: {replicas: 1, readyReplicas: 1}
- apiVersion: apps/v1
  kind: Deployment
  metadata: {name: web, namespace: shop, uid: u-d}
  spec: {replicas: 1}
  status: {readyReplicas: 1}
- apiVersion: apps/v1
  kind: StatefulSet
  metadata: {name: db, namespace: shop, uid: u-sts}
  spec: {replicas: 3}
  status: {readyReplicas: 3}
- apiVersion: v1
  kind: Namespace
  metadata: {name: shop, labels: {team: web}}
- apiVersion: v1
  kind: Node
  metadata: {name: node-a, uid: u-node-a, labels: {kubernetes.io/hostname: node-a}}
  spec:
    unschedulable: true
    taints: [{key: node.kubernetes.io/unschedulable, effect: NoSchedule}]
  status:
    conditions: [{type: Ready, status: "True", reason: KubeletReady, lastHeartbeatTime: "2024-06-05T10:00:00Z"}]
- apiVersion: v1
  kind: Service
  metadata: {name: web, namespace: shop}
`;

describe('SnapshotClusterView', () => {
  it('loads a kubectl `kind: List` with pods, PDBs (v1 and v1beta1), owners, namespaces and nodes', async () => {
    const view = SnapshotClusterView.fromFile(write('list.yaml', KUBECTL_LIST));
    await view.start();
    expect(view.isSynced()).toBe(true);
    expect(view.factSource).toBe('snapshot');

    const facts = await view.facts('shop', 'web-1');
    expect(facts.source).toBe('snapshot');
    expect(facts.pod).toMatchObject({ name: 'web-1', ready: true, phase: 'Running', owner: { kind: 'ReplicaSet', name: 'web-abc' } });
    expect(facts.pdbs.map((pdb) => pdb.name).sort()).toEqual(['legacy-pdb', 'web-pdb']);
    expect(facts.pdbs.find((pdb) => pdb.name === 'legacy-pdb')?.selector?.matchExpressions?.[0].operator).toBe('Exists');
    expect(facts.podsInNamespace().map((pod) => pod.name)).toEqual(['web-1']);

    // Policies read the owner behind the ReplicaSet and the namespace from the snapshot too.
    expect(facts.context?.owner).toEqual({ kind: 'Deployment', name: 'web', replicas: 1, readyReplicas: 1, replicasFrom: 'spec' });
    expect(facts.context?.namespace?.labels).toEqual({ team: 'web' });
    expect(facts.context?.peers('node').map((pod) => pod.name)).toEqual(['web-1']);
    expect(facts.context?.node).toEqual({
      name: 'node-a',
      uid: 'u-node-a',
      labels: { 'kubernetes.io/hostname': 'node-a' },
      annotations: {},
      unschedulable: true,
      taints: [{ key: 'node.kubernetes.io/unschedulable', value: undefined, effect: 'NoSchedule' }],
      conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', lastTransitionTime: undefined }],
    });
    expect(view.node('node-b')).toBeUndefined();
    expect((await view.facts('shop', 'missing')).context).toBeUndefined();

    expect(view.workload('ReplicaSet', 'shop', 'web-abc')).toMatchObject({ replicas: 1, owner: { kind: 'Deployment', name: 'web' } });
    expect(view.workload('StatefulSet', 'shop', 'db')).toMatchObject({ replicas: 3, readyReplicas: 3 });
    expect(view.namespace('shop')?.labels).toEqual({ team: 'web' });
    expect(view.status()).toEqual({
      mode: 'snapshot',
      synced: true,
      resources: [
        { resource: 'pods', synced: true, count: 1, restarts: 0 },
        { resource: 'poddisruptionbudgets', synced: true, count: 2, restarts: 0 },
        { resource: 'replicasets', synced: true, count: 1, restarts: 0 },
        { resource: 'deployments', synced: true, count: 1, restarts: 0 },
        { resource: 'statefulsets', synced: true, count: 1, restarts: 0 },
        { resource: 'namespaces', synced: true, count: 1, restarts: 0 },
        { resource: 'nodes', synced: true, count: 1, restarts: 0 },
      ],
    });
  });

  it('notes the kinds it ignores at debug level', () => {
    const debug = jest.fn();
    const logger: ClusterLogger = { debug, info: jest.fn(), warn: jest.fn(), error: jest.fn() };
    SnapshotClusterView.fromFile(write('ignored.yaml', KUBECTL_LIST), 'snapshot', { logger });
    expect(debug).toHaveBeenCalledWith(expect.objectContaining({ ignored: { 'v1/Service': 1 } }), expect.any(String));
  });

  it('loads a multi-document YAML file, skipping empty documents', async () => {
    const file = write(
      'multi.yaml',
      `---
apiVersion: v1
kind: Pod
metadata: {name: a, namespace: ns1}
status: {phase: Pending}
---
# only a comment
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: p, namespace: ns1}
spec: {maxUnavailable: 0}
`,
    );
    const view = SnapshotClusterView.fromFile(file);
    const facts = await view.confirm('ns1', 'a');
    expect(facts.pod?.phase).toBe('Pending');
    expect(facts.pdbs).toHaveLength(1);
    expect(facts.pdbs[0].selector).toBeNull();
    expect((await view.facts('ns1', 'missing')).pod).toBeUndefined();
  });

  it('loads JSON, including a typed PodList whose items have no kind', async () => {
    const file = write(
      'pods.json',
      JSON.stringify({ apiVersion: 'v1', kind: 'PodList', items: [{ metadata: { name: 'a', namespace: 'n' }, status: { phase: 'Running' } }] }),
    );
    const view = SnapshotClusterView.fromFile(file);
    expect((await view.facts('n', 'a')).pod?.phase).toBe('Running');
  });


  it('takes objects from a generator one at a time, naming a bad one by its position', async () => {
    let taken = 0;
    function* objects(): Generator<unknown> {
      for (const name of ['a', 'b']) {
        taken++;
        yield { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'n' }, status: { phase: 'Running' } };
      }
    }
    const view = SnapshotClusterView.fromObjects('generated', objects(), (index) => `object ${index}`);
    expect(taken).toBe(2);
    expect((await view.facts('n', 'b')).pod?.phase).toBe('Running');

    function* withBad(): Generator<unknown> {
      yield { kind: 'Pod', metadata: { name: 'a', namespace: 'n' } };
      yield { metadata: { name: 'b' } };
    }
    expect(() => SnapshotClusterView.fromObjects('generated', withBad(), (index) => `object ${index}`)).toThrow('snapshot generated: object 1: the object has no kind');
  });
  it('rejects a missing file with an error naming it', () => {
    const error = loadError(path.join(dir, 'nope.yaml'));
    expect(error.message).toMatch(/^snapshot .*nope\.yaml: cannot read the file: ENOENT: no such file/);
  });

  it('rejects invalid YAML naming the document and the position', () => {
    const file = write('bad.yaml', 'kind: Pod\nmetadata: {name: a}\n---\nkind: Pod\nmetadata: {name: [unclosed\n');
    const error = loadError(file);
    expect(error.message).toContain(`snapshot ${file}: document 2:`);
    expect(error.message).toMatch(/line \d+/);
  });

  it('rejects an object without a kind, naming the document and item', () => {
    const file = write('nokind.yaml', 'kind: List\nitems:\n- kind: Pod\n  metadata: {name: a}\n- metadata: {name: b}\n');
    expect(loadError(file).message).toBe(`snapshot ${file}: document 1, item 2: the object has no kind`);
  });

  it('rejects a pod without a name and a document that is not an object', () => {
    const noName = write('noname.yaml', 'kind: Pod\nmetadata: {namespace: a}\n');
    expect(loadError(noName).message).toBe(`snapshot ${noName}: document 1: Pod has no metadata.name`);
    const scalar = write('scalar.yaml', 'just some text\n');
    expect(loadError(scalar).message).toBe(`snapshot ${scalar}: document 1: expected a Kubernetes object, found string`);
  });
});
