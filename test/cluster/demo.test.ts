// The demo cluster must be self-consistent (every PDB status follows the disruption controller's
// math, docs/eviction-semantics.md §5) and must show each behaviour its header promises.
import { readFileSync } from 'node:fs';
import { DEMO_SNAPSHOT_FILE, demoClusterView } from '../../src/cluster/snapshot';
import type { LabelSelector, PdbFacts, PodFacts } from '../../src/domain';

function selects(selector: LabelSelector | null, labels: Readonly<Record<string, string>>): boolean {
  if (selector === null) return false;
  const labelsMatch = Object.entries(selector.matchLabels ?? {}).every(([key, value]) => labels[key] === value);
  const expressionsMatch = (selector.matchExpressions ?? []).every(({ key, operator, values = [] }) => {
    if (operator === 'In') return key in labels && values.includes(labels[key]);
    if (operator === 'NotIn') return !(key in labels) || !values.includes(labels[key]);
    if (operator === 'Exists') return key in labels;
    if (operator === 'DoesNotExist') return !(key in labels);
    throw new Error(`unknown operator ${operator}`);
  });
  return labelsMatch && expressionsMatch;
}

function scaled(value: number | string, total: number): number {
  return typeof value === 'number' ? value : Math.ceil((Number.parseInt(value, 10) * total) / 100);
}

const view = demoClusterView();

/** Facts for a pod name that does not exist still list the namespace's pods and PDBs. */
function namespaceFacts(namespace: string) {
  return view.facts(namespace, '');
}

async function namespacePods(namespace: string): Promise<readonly PodFacts[]> {
  return (await namespaceFacts(namespace)).podsInNamespace();
}

async function matchedPods(pdb: PdbFacts): Promise<readonly PodFacts[]> {
  return (await namespacePods(pdb.namespace)).filter((pod) => selects(pdb.selector, pod.labels));
}

/** getExpectedScale: Σ replicas of the distinct controllers (a Deployment through its ReplicaSet). */
function expectedScale(pods: readonly PodFacts[]): number {
  const controllers = new Map<string, number>();
  for (const pod of pods) {
    const owner = pod.owner;
    if (owner === undefined) continue;
    let workload = view.workload(owner.kind, pod.namespace, owner.name);
    if (workload?.kind === 'ReplicaSet' && workload.owner?.kind === 'Deployment') {
      workload = view.workload('Deployment', pod.namespace, workload.owner.name);
    }
    if (workload === undefined) throw new Error(`no controller with a scale for ${pod.namespace}/${pod.name}`);
    controllers.set(`${workload.kind}/${workload.name}`, workload.replicas);
  }
  return [...controllers.values()].reduce((sum, replicas) => sum + replicas, 0);
}

async function allPdbs(): Promise<PdbFacts[]> {
  const namespaces = ['shop', 'analytics', 'batch', 'payments', 'tools'];
  return (await Promise.all(namespaces.map(async (namespace) => (await namespaceFacts(namespace)).pdbs))).flat();
}

async function pdbsOf(namespace: string, podName: string): Promise<{ pod: PodFacts; pdbs: PdbFacts[] }> {
  const facts = await view.facts(namespace, podName);
  if (facts.pod === undefined) throw new Error(`demo pod ${namespace}/${podName} is missing`);
  const pod = facts.pod;
  return { pod, pdbs: facts.pdbs.filter((pdb) => selects(pdb.selector, pod.labels)) };
}

describe('the built-in demo cluster', () => {
  it('loads from demo/cluster.yaml in demo mode', () => {
    expect(view.status()).toMatchObject({ mode: 'demo', synced: true });
    expect(view.status().resources.find((resource) => resource.resource === 'pods')?.count).toBe(20);
  });

  it('holds the Node of every scheduled pod, node-c cordoned, and gives it to the pod context', async () => {
    const pods = (await Promise.all(['shop', 'analytics', 'batch', 'payments', 'tools'].map(namespacePods))).flat();
    for (const pod of pods.filter((each) => each.nodeName !== undefined)) {
      expect({ pod: pod.name, node: view.node(pod.nodeName!)?.name }).toEqual({ pod: pod.name, node: pod.nodeName });
    }
    expect(view.status().resources.find((resource) => resource.resource === 'nodes')?.count).toBe(3);
    expect(['node-a', 'node-b', 'node-c'].map((name) => view.node(name)?.unschedulable)).toEqual([false, false, true]);
    const onNodeC = pods.find((pod) => pod.nodeName === 'node-c')!;
    const { context } = await view.facts(onNodeC.namespace, onNodeC.name);
    expect(context?.node).toMatchObject({
      name: 'node-c',
      unschedulable: true,
      labels: { 'topology.kubernetes.io/zone': 'eu-west-1c' },
      taints: [{ key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' }],
    });
    const pending = pods.find((pod) => pod.nodeName === undefined)!;
    expect((await view.facts(pending.namespace, pending.name)).context?.node).toBeUndefined();
  });

  it('has every pod its header lists, except the one meant to be missing', async () => {
    const rows = readFileSync(DEMO_SNAPSHOT_FILE, 'utf8').matchAll(/^# ([a-z0-9-]+)\/([a-z0-9-]+) /gm);
    const listed = [...rows].map(([, namespace, name]) => `${namespace}/${name}`);
    expect(listed.length).toBeGreaterThanOrEqual(12);
    for (const entry of listed) {
      const [namespace, name] = entry.split('/');
      const pod = (await view.facts(namespace, name)).pod;
      expect({ entry, exists: pod !== undefined }).toEqual({ entry, exists: entry !== 'shop/no-such-pod' });
    }
  });

  it('gives every PDB the status the disruption controller computes (the failed sync keeps its last good numbers)', async () => {
    for (const pdb of await allPdbs()) {
      const pods = await matchedPods(pdb);
      const isSyncFailed = pdb.status.conditions.some((condition) => condition.reason === 'SyncFailed');
      // An integer minAvailable counts matched pods; the failed-sync PDB kept the count from when
      // its owner still had a scale subresource (one replica per pod).
      const expectedCount = typeof pdb.minAvailable === 'number' || isSyncFailed ? pods.length : expectedScale(pods);
      const desiredHealthy =
        pdb.maxUnavailable !== undefined ? Math.max(0, expectedCount - scaled(pdb.maxUnavailable, expectedCount)) : scaled(pdb.minAvailable!, expectedCount);
      const currentHealthy = pods.filter((pod) => pod.ready && !pod.deleting).length;
      const allowed = isSyncFailed || expectedCount <= 0 ? 0 : Math.max(0, currentHealthy - desiredHealthy);
      expect({ pdb: pdb.name, ...pdb.status, conditions: undefined, disruptedPods: undefined }).toEqual({
        pdb: pdb.name,
        observedGeneration: pdb.status.observedGeneration,
        expectedPods: expectedCount,
        desiredHealthy,
        currentHealthy,
        disruptionsAllowed: allowed,
        conditions: undefined,
        disruptedPods: undefined,
      });
      const reason = isSyncFailed ? 'SyncFailed' : allowed > 0 ? 'SufficientPods' : 'InsufficientPods';
      expect(pdb.status.conditions.map((condition) => condition.reason)).toEqual([reason]);
    }
  });

  it('shows each behaviour on the pod the header names', async () => {
    const web = await pdbsOf('shop', 'web-7d9c5b7f6-x2x9k');
    expect(web.pdbs).toHaveLength(1);
    expect(web.pdbs[0].status).toMatchObject({ disruptionsAllowed: 0, desiredHealthy: 3, expectedPods: 3 });

    expect((await pdbsOf('shop', 'cart-5d8f7b6c4-q7w2e')).pdbs.map((pdb) => pdb.name).sort()).toEqual(['cart-ha-pdb', 'cart-pdb']);
    expect((await pdbsOf('shop', 'api-6f4b8c9d7-l5j8n')).pdbs[0].status.disruptionsAllowed).toBe(1);

    const unready = await pdbsOf('shop', 'search-7b9d6f5c8-c4r2x');
    expect(unready.pod).toMatchObject({ phase: 'Running', ready: false });
    expect(unready.pdbs).toHaveLength(1);
    const { currentHealthy, desiredHealthy, disruptionsAllowed } = unready.pdbs[0].status;
    expect({ disruptionsAllowed, shortcut: currentHealthy >= desiredHealthy && desiredHealthy > 0 }).toEqual({ disruptionsAllowed: 0, shortcut: true });
    expect((await pdbsOf('shop', 'search-7b9d6f5c8-h8m3v')).pod.ready).toBe(true);

    expect((await pdbsOf('analytics', 'worker-84c6d9f7b5-p9xzt')).pod.phase).toBe('Pending');
    expect((await pdbsOf('analytics', 'worker-84c6d9f7b5-h2kqn')).pdbs[0].status.disruptionsAllowed).toBe(0);
    const report = await pdbsOf('batch', 'nightly-report-29123456-7xk2p');
    expect({ phase: report.pod.phase, pdbs: report.pdbs.length }).toEqual({ phase: 'Succeeded', pdbs: 1 });

    const ledger = (await pdbsOf('payments', 'ledger-0')).pdbs[0];
    expect(ledger.status.observedGeneration).toBeLessThan(ledger.generation!);
    const fraud = (await pdbsOf('payments', 'fraud-model-0')).pdbs[0];
    expect(fraud.status.observedGeneration).toBe(fraud.generation);
    expect(fraud.status.conditions[0]).toMatchObject({ status: 'False', reason: 'SyncFailed' });

    const debug = await pdbsOf('tools', 'debug-shell');
    expect({ pdbs: debug.pdbs.length, owner: debug.pod.owner, hasEmptyDir: debug.pod.hasEmptyDir }).toEqual({
      pdbs: 0,
      owner: undefined,
      hasEmptyDir: true,
    });
  });
});
