import { KubeConfig } from '@kubernetes/client-node';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LiveClusterView } from '../../src/cluster/live';
import type { ClusterLogger, ResourceSyncState } from '../../src/cluster/view';
import { FakeApiServer } from '../fake-apiserver';
import { namespaceObject, nodeObject, pdbObject, podObject, workloadObject } from '../helpers/objects';

let dir: string;
let fake: FakeApiServer;
let view: LiveClusterView;
let restarts: string[];
let warnings: object[];

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'live-view-test-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

beforeEach(async () => {
  fake = await FakeApiServer.start();
  fake.upsert(podObject('shop', 'web-1', { labels: { app: 'web' } }));
  fake.upsert(podObject('shop', 'web-2', { labels: { app: 'web' } }));
  fake.upsert(podObject('tools', 'shell'));
  fake.upsert(pdbObject('shop', 'web-pdb', { selector: { matchLabels: { app: 'web' } }, disruptionsAllowed: 1 }));
  restarts = [];
  warnings = [];
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(fake.writeKubeconfig(dir));
  const logger: ClusterLogger = { debug() {}, info() {}, warn: (details) => warnings.push(details), error() {} };
  view = new LiveClusterView(kubeConfig, { logger, hooks: { onWatchRestart: (resource) => restarts.push(resource) } });
});

afterEach(async () => {
  await view.stop();
  await fake.close();
});

async function waitFor(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Pods and PDBs for the mirror; workloads, namespaces and nodes for policies. */
const WATCHED_RESOURCES = ['pods', 'poddisruptionbudgets', 'replicasets', 'deployments', 'statefulsets', 'namespaces', 'nodes'];

function resourceState(resource: string): ResourceSyncState {
  return view.status().resources.find((state) => state.resource === resource)!;
}

async function startSynced(): Promise<void> {
  await view.start();
  await waitFor('initial sync', () => view.isSynced());
  await waitFor('every watch', () => fake.activeWatches() === WATCHED_RESOURCES.length);
}

async function elapsedMs(promise: Promise<unknown>): Promise<{ ms: number; error: unknown }> {
  const started = Date.now();
  try {
    await promise;
    return { ms: Date.now() - started, error: undefined };
  } catch (error) {
    return { ms: Date.now() - started, error };
  }
}

describe('LiveClusterView against a fake API server', () => {
  it('lists every page, then answers facts from the index', async () => {
    fake.bulkLoad(Array.from({ length: 1100 }, (_, index) => podObject('bulk', `pod-${index}`)));
    await view.start();
    expect(view.isSynced()).toBe(false);
    await waitFor('initial sync', () => view.isSynced());

    expect(view.status()).toEqual({
      mode: 'live',
      synced: true,
      resources: [
        { resource: 'pods', synced: true, count: 1103, restarts: 0 },
        { resource: 'poddisruptionbudgets', synced: true, count: 1, restarts: 0 },
        { resource: 'replicasets', synced: true, count: 0, restarts: 0 },
        { resource: 'deployments', synced: true, count: 0, restarts: 0 },
        { resource: 'statefulsets', synced: true, count: 0, restarts: 0 },
        { resource: 'namespaces', synced: true, count: 0, restarts: 0 },
        { resource: 'nodes', synced: true, count: 0, restarts: 0 },
      ],
    });
    const podLists = fake.requests.filter((request) => request.path === '/api/v1/pods' && !request.watch);
    expect(podLists.map((request) => [request.query.limit, request.query.continue !== undefined])).toEqual([
      ['500', false],
      ['500', true],
      ['500', true],
    ]);

    const facts = await view.facts('shop', 'web-1');
    expect(facts.source).toBe('cache');
    expect(facts.pod).toMatchObject({ name: 'web-1', ready: true, labels: { app: 'web' } });
    expect(facts.pdbs.map((pdb) => pdb.name)).toEqual(['web-pdb']);
    expect(facts.podsInNamespace().map((pod) => pod.name).sort()).toEqual(['web-1', 'web-2']);
  });

  it('reflects watch updates: a pod turning unready, a PDB budget change, a deletion', async () => {
    await startSynced();
    fake.upsert(podObject('shop', 'web-1', { labels: { app: 'web' }, ready: false }));
    fake.upsert(pdbObject('shop', 'web-pdb', { selector: { matchLabels: { app: 'web' } }, disruptionsAllowed: 0 }));
    fake.remove('Pod', 'tools', 'shell');

    await waitFor('pod unready', async () => (await view.facts('shop', 'web-1')).pod?.ready === false);
    await waitFor('budget 0', async () => (await view.facts('shop', 'web-1')).pdbs[0].status.disruptionsAllowed === 0);
    await waitFor('pod deleted', () => resourceState('pods').count === 2);
    const gone = await view.facts('tools', 'shell');
    expect({ pod: gone.pod, source: gone.source }).toEqual({ pod: undefined, source: 'live' });
  });

  it('keeps its resourceVersion current from BOOKMARK events', async () => {
    await startSynced();
    const lastPodVersion = fake.upsert(podObject('shop', 'web-3'));
    // A PDB change moves the global resourceVersion past the last pod event; only a bookmark tells the pod watch.
    fake.upsert(pdbObject('shop', 'other-pdb'));
    await waitFor('both changes', () => resourceState('pods').count === 4 && resourceState('poddisruptionbudgets').count === 2);
    fake.sendBookmarks();
    const bookmarked = fake.resourceVersion;
    expect(Number(bookmarked)).toBeGreaterThan(Number(lastPodVersion));
    await new Promise((resolve) => setTimeout(resolve, 50));
    fake.dropWatches();
    await waitFor('watches resumed', () => fake.activeWatches() === WATCHED_RESOURCES.length);
    const resumedPodWatch = fake.requests.filter((request) => request.watch && request.path === '/api/v1/pods').at(-1);
    expect(resumedPodWatch?.query.resourceVersion).toBe(bookmarked);
  });

  it('recovers from a dropped watch, counts the restart and still sees later updates', async () => {
    await startSynced();
    fake.dropWatches();
    await waitFor('watches resumed', () => fake.activeWatches() === WATCHED_RESOURCES.length && resourceState('pods').restarts >= 1);
    expect(resourceState('pods')).toMatchObject({ restarts: 1, lastError: expect.stringContaining('watch') });
    expect(restarts.sort()).toEqual([...WATCHED_RESOURCES].sort());
    expect(warnings).toContainEqual(expect.objectContaining({ resource: 'pods', restarts: 1 }));

    fake.upsert(podObject('shop', 'web-2', { labels: { app: 'web' }, phase: 'Failed', ready: false }));
    await waitFor('later update', async () => (await view.facts('shop', 'web-2')).pod?.phase === 'Failed');
    // Resumed from the last resourceVersion: no relist.
    expect(fake.requests.filter((request) => request.path === '/api/v1/pods' && !request.watch)).toHaveLength(1);
  });

  it('relists after 410 Expired and swaps in a complete index, never a half-filled one', async () => {
    fake.bulkLoad(Array.from({ length: 1200 }, (_, index) => podObject('bulk', `pod-${index}`)));
    await startSynced();
    fake.dropWatches();
    fake.remove('Pod', 'tools', 'shell');
    fake.upsert(podObject('tools', 'new'));
    fake.compact();
    fake.listPageDelayMs = 30;

    let smallest = Infinity;
    await waitFor('relisted', async () => {
      smallest = Math.min(smallest, resourceState('pods').count);
      return (await view.facts('tools', 'new')).source === 'cache';
    });
    expect(smallest).toBeGreaterThanOrEqual(1203);
    expect(resourceState('pods')).toMatchObject({ count: 1203, lastError: expect.stringContaining('expired') });
    expect((await view.facts('tools', 'shell')).pod).toBeUndefined();
  });

  it('rejects confirm() and facts() for a missing pod quickly while the API server is down, then recovers', async () => {
    await startSynced();
    fake.setDown(true);
    const confirm = await elapsedMs(view.confirm('shop', 'web-1'));
    expect(confirm.ms).toBeLessThan(2500);
    expect(String(confirm.error)).toMatch(/GET \/api\/v1\/namespaces\/shop\/pods\/web-1|GET \/apis\/policy/);
    const missing = await elapsedMs(view.facts('shop', 'not-indexed'));
    expect(missing.ms).toBeLessThan(2500);
    expect(missing.error).toBeDefined();
    // Cached facts still answer.
    expect((await view.facts('shop', 'web-1')).source).toBe('cache');
    await waitFor('failed restarts', () => resourceState('pods').restarts >= 2);

    fake.setDown(false);
    await waitFor('watches back', () => fake.activeWatches() === WATCHED_RESOURCES.length, 8000);
    fake.upsert(podObject('shop', 'web-9'));
    await waitFor('update after recovery', async () => (await view.facts('shop', 'web-9')).source === 'cache');
    expect((await view.confirm('shop', 'web-1')).source).toBe('live');
  });

  it('times out reads and watch connects the API server never answers after 2 s', async () => {
    await startSynced();
    fake.setStalled(true);
    fake.dropWatches();
    const confirm = await elapsedMs(view.confirm('shop', 'web-1'));
    expect(String(confirm.error)).toContain('timed out after 2000 ms');
    expect(confirm.ms).toBeGreaterThanOrEqual(1900);
    expect(confirm.ms).toBeLessThan(5000);
    await waitFor('watch connect timeout', () => /timeout/.test(resourceState('pods').lastError ?? ''), 3000);
  });

  it('reads a pod the index does not have yet live, with its namespace PDBs', async () => {
    fake.listPageDelayMs = 1000;
    await view.start();
    const facts = await view.facts('shop', 'web-2');
    expect(view.isSynced()).toBe(false);
    expect(facts.source).toBe('live');
    expect(facts.pod).toMatchObject({ name: 'web-2', labels: { app: 'web' } });
    expect(facts.pdbs.map((pdb) => pdb.name)).toEqual(['web-pdb']);
    expect(fake.requests.map((request) => request.path)).toEqual(
      expect.arrayContaining(['/api/v1/namespaces/shop/pods/web-2', '/apis/policy/v1/namespaces/shop/poddisruptionbudgets']),
    );
  });

  it('answers pod undefined for a pod the API server does not have', async () => {
    await startSynced();
    const facts = await view.facts('shop', 'nope');
    expect({ pod: facts.pod, source: facts.source, pdbs: facts.pdbs.length }).toEqual({ pod: undefined, source: 'live', pdbs: 1 });
  });

  it('gives facts a context: the Deployment behind a ReplicaSet, the namespace, the pods of the node', async () => {
    fake.upsert(workloadObject('Deployment', 'shop', 'web', 4));
    fake.upsert(workloadObject('ReplicaSet', 'shop', 'web-rs', 4, { kind: 'Deployment', name: 'web' }));
    fake.upsert(namespaceObject('shop', { env: 'prod' }, { 'evictionguard.io/protect': 'true', 'other.io/x': 'dropped' }));
    fake.upsert(podObject('shop', 'web-1', { labels: { app: 'web' }, owner: { kind: 'ReplicaSet', name: 'web-rs' } }));
    await startSynced();
    await waitFor('the workloads', () => resourceState('replicasets').count === 1 && resourceState('namespaces').count === 1);

    const { context } = await view.facts('shop', 'web-1');
    expect(context?.owner).toEqual({ kind: 'Deployment', name: 'web', replicas: 4, readyReplicas: 4, replicasFrom: 'spec' });
    expect(context?.namespace).toMatchObject({ name: 'shop', labels: { env: 'prod' }, annotations: { 'evictionguard.io/protect': 'true' } });
    expect(context?.peers('node').map((pod) => pod.name).sort()).toEqual(['shell', 'web-1', 'web-2']);

    fake.upsert(workloadObject('Deployment', 'shop', 'web', 1));
    await waitFor('the scale-down', async () => (await view.facts('shop', 'web-1')).context?.owner.replicas === 1);
    expect(context?.node).toBeUndefined();
    // A pod read live gets a context from the index too.
    fake.upsert(podObject('shop', 'fresh', { owner: { kind: 'ReplicaSet', name: 'web-rs' } }));
    expect((await view.confirm('shop', 'fresh')).context?.owner).toMatchObject({ kind: 'Deployment', name: 'web' });
  });

  it("lists and watches Nodes: the pod's Node in its context, a cordon seen, none for an unscheduled pod", async () => {
    fake.upsert(nodeObject('node-a', { labels: { 'topology.kubernetes.io/zone': 'eu-1a' }, annotations: { 'node.alpha.kubernetes.io/ttl': '0' } }));
    fake.upsert(nodeObject('node-b'));
    fake.upsert(podObject('shop', 'pending', { nodeName: '' }));
    await startSynced();
    expect(resourceState('nodes')).toEqual({ resource: 'nodes', synced: true, count: 2, restarts: 0 });
    const node = (await view.facts('shop', 'web-1')).context?.node;
    // The store keys cluster-scoped objects under namespace ''; the rest is the trimmed Node.
    expect(node).toEqual({
      namespace: '',
      name: 'node-a',
      uid: 'node-a-uid',
      labels: { 'topology.kubernetes.io/zone': 'eu-1a' },
      annotations: { 'node.alpha.kubernetes.io/ttl': '0' },
      unschedulable: false,
      taints: [],
      conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', lastTransitionTime: '2024-06-01T08:00:00Z' }],
    });

    fake.upsert(nodeObject('node-a', { unschedulable: true }));
    await waitFor('the cordon', async () => (await view.facts('shop', 'web-1')).context?.node?.unschedulable === true);
    expect((await view.facts('shop', 'web-1')).context?.node?.taints).toEqual([{ key: 'node.kubernetes.io/unschedulable', value: undefined, effect: 'NoSchedule' }]);
    fake.remove('Node', '', 'node-a');
    await waitFor('the Node gone', () => resourceState('nodes').count === 1);
    expect((await view.facts('shop', 'web-1')).context?.node).toBeUndefined();
    expect((await view.facts('shop', 'pending')).context?.node).toBeUndefined();
  });

  it('stop() ends watches, timers and pending connects, leaving no open handles', async () => {
    const countByType = () => {
      const counts = new Map<string, number>();
      for (const resource of process.getActiveResourcesInfo()) counts.set(resource, (counts.get(resource) ?? 0) + 1);
      return counts;
    };
    const before = countByType();
    await startSynced();
    fake.setStalled(true);
    fake.dropWatches();
    // Now a restart is waiting out its backoff or connecting to a server that never answers.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const stopping = await elapsedMs(view.stop());
    expect(stopping.ms).toBeLessThan(1000);
    await fake.close();
    // Seven watch sockets close over a few event-loop turns; a leak would outlast the wait.
    const isSettled = () => [...countByType()].every(([type, count]) => count <= (before.get(type) ?? 0));
    await waitFor('sockets closed', isSettled, 250).catch(() => undefined);

    const after = countByType();
    for (const [type, count] of after) expect({ type, count }).toEqual({ type, count: Math.min(count, before.get(type) ?? 0) });
  });
});
