// The fake API server's Leases behave as the real server's: these pin down the protocol the
// reservation tests rely on.
import https from 'node:https';
import { FakeApiServer } from '../fake-apiserver';

let fake: FakeApiServer;
beforeEach(async () => {
  fake = await FakeApiServer.start();
});
afterEach(() => fake.close());

const LEASES = '/apis/coordination.k8s.io/v1/namespaces/eviction-guard/leases';

function call(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const text = body === undefined ? undefined : JSON.stringify(body);
  // Content-Length, since Node sends a DELETE body neither chunked nor with a length by default.
  const headers = { authorization: `Bearer ${fake.token}`, 'content-type': 'application/json', ...(text ? { 'content-length': String(Buffer.byteLength(text)) } : {}) };
  return new Promise((resolve, reject) => {
    const request = https.request(
      new URL(path, fake.url),
      { method, ca: fake.ca, headers, agent: false },
      (response) => {
        let text = '';
        response.on('data', (chunk) => (text += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: JSON.parse(text) }));
      },
    );
    request.on('error', reject);
    request.end(text);
  });
}

const lease = (name: string, extra: { resourceVersion?: string; labels?: Record<string, string>; renewTime?: string } = {}) => ({
  apiVersion: 'coordination.k8s.io/v1',
  kind: 'Lease',
  metadata: { name, ...(extra.resourceVersion ? { resourceVersion: extra.resourceVersion } : {}), ...(extra.labels ? { labels: extra.labels } : {}) },
  spec: { holderIdentity: 'a', leaseDurationSeconds: 120, renewTime: extra.renewTime ?? '2024-06-05T10:00:00.000000Z' },
});

describe('FakeApiServer Leases', () => {
  it('creates once, then updates only on the current resourceVersion', async () => {
    const created = await call('POST', LEASES, lease('owner-web'));
    expect(created).toMatchObject({ status: 201, body: { kind: 'Lease', metadata: { name: 'owner-web', namespace: 'eviction-guard', uid: expect.any(String) } } });
    expect(await call('POST', LEASES, lease('owner-web'))).toMatchObject({
      status: 409,
      body: { reason: 'AlreadyExists', message: 'leases.coordination.k8s.io "owner-web" already exists' },
    });

    const version = created.body.metadata.resourceVersion;
    const updated = await call('PUT', `${LEASES}/owner-web`, lease('owner-web', { resourceVersion: version }));
    expect(updated.status).toBe(200);
    expect(Number(updated.body.metadata.resourceVersion)).toBeGreaterThan(Number(version));
    expect(updated.body.metadata.uid).toBe(created.body.metadata.uid);
    expect(await call('PUT', `${LEASES}/owner-web`, lease('owner-web', { resourceVersion: version }))).toMatchObject({
      status: 409,
      body: { reason: 'Conflict', message: expect.stringContaining('the object has been modified; please apply your changes to the latest version and try again') },
    });
    expect((await call('PUT', `${LEASES}/missing`, lease('missing', { resourceVersion: '1' }))).status).toBe(404);
  });

  it('deletes on a resourceVersion precondition, and answers 404 for what is gone', async () => {
    const created = await call('POST', LEASES, lease('node-a'));
    const stale = { kind: 'DeleteOptions', apiVersion: 'v1', preconditions: { resourceVersion: '1' } };
    expect(await call('DELETE', `${LEASES}/node-a`, stale)).toMatchObject({ status: 409, body: { reason: 'Conflict', message: expect.stringContaining('Precondition failed') } });
    const current = { ...stale, preconditions: { resourceVersion: created.body.metadata.resourceVersion } };
    expect((await call('DELETE', `${LEASES}/node-a`, current)).status).toBe(200);
    expect(await call('GET', `${LEASES}/node-a`)).toMatchObject({ status: 404, body: { reason: 'NotFound', message: 'leases.coordination.k8s.io "node-a" not found' } });
  });

  it('lists by label selector', async () => {
    await call('POST', LEASES, lease('ours', { labels: { 'app.kubernetes.io/name': 'eviction-guard', tier: 'x' } }));
    await call('POST', LEASES, lease('theirs', { labels: { 'app.kubernetes.io/name': 'other' } }));
    const listed = await call('GET', `${LEASES}?labelSelector=${encodeURIComponent('app.kubernetes.io/name=eviction-guard')}`);
    expect(listed.body).toMatchObject({ kind: 'LeaseList', items: [{ metadata: { name: 'ours' } }] });
    expect((await call('GET', LEASES)).body.items).toHaveLength(2);
  });

  it('rejects what the API server would: invalid names and times, another namespace', async () => {
    expect(await call('POST', LEASES, lease('Not_A_Name'))).toMatchObject({ status: 422, body: { reason: 'Invalid' } });
    expect(await call('POST', LEASES, lease('ok', { renewTime: '2024-06-05T10:00:00Z' }))).toMatchObject({
      status: 422,
      body: { message: expect.stringContaining('spec.renewTime: Invalid value: "2024-06-05T10:00:00Z": not a MicroTime') },
    });
    const elsewhere = { ...lease('ok'), metadata: { name: 'ok', namespace: 'kube-system' } };
    expect((await call('POST', LEASES, elsewhere)).status).toBe(400);
  });

  it('fails or stalls every Lease call on demand', async () => {
    fake.leases.failing = true;
    expect(await call('GET', `${LEASES}/x`)).toMatchObject({ status: 500, body: { reason: 'InternalError' } });
    fake.leases.failing = false;
    fake.leases.stalled = true;
    const answered = call('GET', `${LEASES}/x`).then(
      () => 'answered',
      () => 'cut', // when the fake closes after the test
    );
    const outcome = await Promise.race([answered, new Promise((resolve) => setTimeout(() => resolve('no answer'), 300))]);
    expect(outcome).toBe('no answer');
    expect(fake.leases.calls.map((recorded) => `${recorded.method} ${recorded.status}`)).toEqual(['GET 500']);
  });
});
