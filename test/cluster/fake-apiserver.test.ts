// The fake API server is only useful if it behaves like the real one; these pin down the protocol.
import https from 'node:https';
import { createInterface } from 'node:readline';
import { FakeApiServer } from '../fake-apiserver';
import { podObject } from '../helpers/objects';

let fake: FakeApiServer;
beforeEach(async () => {
  fake = await FakeApiServer.start();
});
afterEach(() => fake.close());

function get(path: string, token = fake.token): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    https
      .get(new URL(path, fake.url), { ca: fake.ca, headers: { authorization: `Bearer ${token}` }, agent: false }, (response) => {
        let text = '';
        response.on('data', (chunk) => (text += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: JSON.parse(text) }));
      })
      .on('error', reject);
  });
}

/** Opens a watch and collects its events until `count` arrived or the stream ended. */
function watchEvents(path: string, count: number): Promise<any[]> {
  return new Promise((resolve, reject) => {
    const events: any[] = [];
    const request = https.get(new URL(path, fake.url), { ca: fake.ca, headers: { authorization: `Bearer ${fake.token}` }, agent: false }, (response) => {
      const lines = createInterface(response);
      lines.on('error', () => {}); // destroying the request below aborts the stream on purpose
      lines.on('line', (line) => {
        events.push(JSON.parse(line));
        if (events.length === count) {
          request.destroy();
          resolve(events);
        }
      });
      lines.on('close', () => resolve(events));
    });
    request.on('error', reject);
  });
}

describe('FakeApiServer', () => {
  it('pages a list with limit and continue at one resourceVersion, items without kind', async () => {
    for (const name of ['c', 'a', 'b']) fake.upsert(podObject('shop', name));
    fake.upsert(podObject('tools', 'z'));
    const first = await get('/api/v1/pods?limit=2');
    expect(first.body.kind).toBe('PodList');
    expect(first.body.items.map((item: any) => item.metadata.name)).toEqual(['a', 'b']);
    expect(first.body.items[0].kind).toBeUndefined();
    fake.upsert(podObject('shop', 'd'));
    const second = await get(`/api/v1/pods?limit=2&continue=${first.body.metadata.continue}`);
    expect(second.body.metadata.resourceVersion).toBe(first.body.metadata.resourceVersion);
    expect(second.body.items.map((item: any) => item.metadata.name)).toEqual(['c', 'd']);
    const third = await get(`/api/v1/pods?limit=2&continue=${second.body.metadata.continue}`);
    expect(third.body.items.map((item: any) => item.metadata.name)).toEqual(['z']);
    expect(third.body.metadata.continue).toBeUndefined();

    const namespaced = await get('/api/v1/namespaces/tools/pods');
    expect(namespaced.body.items.map((item: any) => item.metadata.name)).toEqual(['z']);
  });

  it('streams the changes after a resourceVersion as JSON lines with kind, then live changes', async () => {
    const since = fake.upsert(podObject('shop', 'a'));
    fake.upsert(podObject('shop', 'a', { ready: false }));
    const events = watchEvents(`/api/v1/pods?watch=true&resourceVersion=${since}&allowWatchBookmarks=true`, 3);
    await new Promise((resolve) => setTimeout(resolve, 50));
    fake.remove('Pod', 'shop', 'a');
    fake.sendBookmarks();
    const [modified, deleted, bookmark] = await events;
    expect(modified).toMatchObject({ type: 'MODIFIED', object: { kind: 'Pod', apiVersion: 'v1', metadata: { name: 'a' } } });
    expect(deleted.type).toBe('DELETED');
    expect(Number(deleted.object.metadata.resourceVersion)).toBeGreaterThan(Number(modified.object.metadata.resourceVersion));
    expect(bookmark).toEqual({ type: 'BOOKMARK', object: { kind: 'Pod', apiVersion: 'v1', metadata: { resourceVersion: fake.resourceVersion } } });
  });

  it('answers a watch from a compacted resourceVersion with an ERROR 410 Expired event', async () => {
    const old = fake.upsert(podObject('shop', 'a'));
    fake.upsert(podObject('shop', 'b'));
    fake.compact();
    const [event] = await watchEvents(`/api/v1/pods?watch=true&resourceVersion=${old}`, 1);
    expect(event).toMatchObject({ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired' } });
  });

  it('answers HTTP 410 Expired when a list continues past a compaction', async () => {
    for (const name of ['a', 'b', 'c']) fake.upsert(podObject('shop', name));
    const first = await get('/api/v1/pods?limit=1');
    fake.upsert(podObject('shop', 'd'));
    fake.compact();
    const next = await get(`/api/v1/pods?limit=1&continue=${first.body.metadata.continue}`);
    expect(next.status).toBe(410);
    expect(next.body).toMatchObject({ kind: 'Status', code: 410, reason: 'Expired' });
  });

  it('answers 404 with a NotFound Status for a missing pod, and 401 without the token', async () => {
    expect(await get('/api/v1/namespaces/shop/pods/nope')).toEqual({
      status: 404,
      body: expect.objectContaining({ kind: 'Status', code: 404, reason: 'NotFound', message: 'pods "nope" not found' }),
    });
    expect((await get('/api/v1/pods', 'wrong')).status).toBe(401);
  });

  it('serves apps/v1 workloads by namespace, and namespaces and EvictionPolicies cluster-scoped', async () => {
    fake.upsert({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'shop' }, spec: { replicas: 3 } });
    fake.upsert({ apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name: 'web-1', namespace: 'shop' } });
    fake.upsert({ apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'db', namespace: 'data' } });
    fake.upsert({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop', labels: { env: 'prod' } } });
    fake.upsert({ apiVersion: 'evictionguard.io/v1alpha1', kind: 'EvictionPolicy', metadata: { name: 'freeze' }, spec: {} });

    expect((await get('/apis/apps/v1/namespaces/shop/deployments')).body.items.map((item: any) => item.spec.replicas)).toEqual([3]);
    expect((await get('/apis/apps/v1/replicasets')).body).toMatchObject({ kind: 'ReplicaSetList', items: [{ metadata: { name: 'web-1' } }] });
    expect((await get('/apis/apps/v1/statefulsets')).body.items).toHaveLength(1);
    const namespaces = await get('/api/v1/namespaces');
    expect(namespaces.body).toMatchObject({ kind: 'NamespaceList', items: [{ metadata: { name: 'shop', labels: { env: 'prod' } } }] });
    expect(namespaces.body.items[0].metadata.namespace).toBeUndefined();
    expect((await get('/api/v1/namespaces/shop')).body).toMatchObject({ kind: 'Namespace', metadata: { name: 'shop' } });
    expect((await get('/apis/evictionguard.io/v1alpha1/evictionpolicies/freeze')).body).toMatchObject({ kind: 'EvictionPolicy', apiVersion: 'evictionguard.io/v1alpha1' });

    const events = watchEvents('/apis/evictionguard.io/v1alpha1/evictionpolicies?watch=true', 2);
    await new Promise((resolve) => setTimeout(resolve, 50));
    fake.remove('EvictionPolicy', '', 'freeze');
    expect((await events).map((event) => event.type)).toEqual(['ADDED', 'DELETED']);
  });

  it('answers 404 for EvictionPolicies while their CRD is not installed', async () => {
    fake.evictionPolicyCrdInstalled = false;
    expect(await get('/apis/evictionguard.io/v1alpha1/evictionpolicies')).toMatchObject({ status: 404, body: { reason: 'NotFound' } });
  });

  it('bulk-loads objects that a list then returns', async () => {
    fake.bulkLoad(Array.from({ length: 1200 }, (_, index) => podObject(`ns-${index % 7}`, `pod-${index}`)));
    const page = await get('/api/v1/pods?limit=500');
    expect(page.body.items).toHaveLength(500);
    expect(fake.count('Pod')).toBe(1200);
  });
});
