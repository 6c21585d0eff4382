// The webhook end to end: real HTTPS to `startWebhook`, which watches a fake API server speaking
// the real list/watch protocol. State changes go through the fake; decisions must follow.
import { createLogger } from '../../src/audit/logger';
import { startWebhook, type RunningWebhook } from '../../src/cli/serve';
import { FakeApiServer } from '../fake-apiserver';
import { evictionReview } from '../admission/reviews';
import { pdbObject, podObject } from '../helpers/objects';
import { makeTestCertificate } from '../helpers/tls';
import { exhaustedWebPdb, liveServeOptions, openWebPdb, useServingPairDir, waitFor, type AdmissionAnswer } from './harness';
import { httpsCall, postJson } from '../server/https-client';

const tls = makeTestCertificate();
const servingDir = useServingPairDir('e2e-webhook-', tls);
let fake: FakeApiServer;
let webhook: RunningWebhook;
let uidCounter = 0;

function review(namespace: string, name: string, dryRun = false) {
  const body = evictionReview();
  Object.assign(body.request, { uid: `e2e-${++uidCounter}`, name, namespace, dryRun });
  return body;
}

async function evict(namespace: string, name: string, dryRun = false): Promise<AdmissionAnswer> {
  const reply = await postJson(webhook.port, tls.cert, review(namespace, name, dryRun));
  expect(reply.status).toBe(200);
  return JSON.parse(reply.text) as AdmissionAnswer;
}

const deniedWith = (code: number) => async () => (await evict('shop', 'web-1')).response.status?.code === code;
const allowed = (name = 'web-1') => async () => (await evict('shop', name)).response.allowed;
const readyz = async () => (await httpsCall({ port: webhook.port, ca: tls.cert, path: '/readyz' })).status;

beforeEach(async () => {
  fake = await FakeApiServer.start();
  fake.upsert(podObject('shop', 'web-1', { labels: { app: 'web' }, owner: { kind: 'ReplicaSet', name: 'web-rs' } }));
  fake.upsert(podObject('shop', 'web-2', { labels: { app: 'web' }, owner: { kind: 'ReplicaSet', name: 'web-rs' } }));
  fake.upsert(pdbObject('shop', 'web-pdb', { selector: { matchLabels: { app: 'web' } }, minAvailable: 1, disruptionsAllowed: 1 }));
  fake.listPageDelayMs = 300;
  webhook = await startWebhook(
    liveServeOptions(servingDir.path, fake),
    createLogger('silent'),
  );
});

afterEach(async () => {
  await webhook.close();
  await fake.close();
});

const exhaustedPdb = exhaustedWebPdb;
const openPdb = openWebPdb;

describe('eviction-guard serve against a live (fake) API server', () => {
  it('is not ready until the initial list has synced, then ready', async () => {
    expect(await readyz()).toBe(503);
    await waitFor('ready', async () => (await readyz()) === 200);
    expect((await httpsCall({ port: webhook.port, ca: tls.cert, path: '/healthz' })).status).toBe(200);
  });

  it('follows a PDB update from the watch: allowed, then 429 with the explanation', async () => {
    await waitFor('ready', async () => (await readyz()) === 200);
    expect((await evict('shop', 'web-1')).response.allowed).toBe(true);

    fake.upsert(exhaustedPdb());
    await waitFor('the 429 after the watch update', deniedWith(429));
    const answer = await evict('shop', 'web-1');
    expect(answer.response.status?.reason).toBe('TooManyRequests');
    expect(answer.response.status?.message).toMatch(/^Cannot evict pod as it would violate the pod's disruption budget\.\n\[pdb\/budget\] PDB shop\/web-pdb/);
    expect(answer.response.status?.message).toContain('It can never allow a disruption: minAvailable=2 equals the 2 pods it selects');
  });

  it('answers 500 naming both PDBs when a second PDB starts selecting the pod', async () => {
    await waitFor('ready', async () => (await readyz()) === 200);
    fake.upsert(pdbObject('shop', 'everything', { selector: {} }));
    await waitFor('the overlap 500', deniedWith(500));
    const { response } = await evict('shop', 'web-1');
    expect(response.status?.reason).toBeUndefined();
    expect(response.status?.message).toContain('shop/everything (selector {} (every pod in the namespace)), shop/web-pdb (selector app=web)');
  });

  it('recovers from a dropped watch and sees changes made after it', async () => {
    await waitFor('ready', async () => (await readyz()) === 200);
    fake.dropWatches();
    fake.upsert(exhaustedPdb());
    await waitFor('the 429 after the watch restarted', deniedWith(429));
    await waitFor('watches re-established', () => fake.activeWatches('pods') === 1 && fake.activeWatches('poddisruptionbudgets') === 1);
    fake.upsert(openPdb());
    await waitFor('allowed again', allowed());
  });

  it('relists after a 410 Gone and sees changes made meanwhile', async () => {
    await waitFor('ready', async () => (await readyz()) === 200);
    fake.dropWatches();
    fake.upsert(exhaustedPdb());
    fake.compact();
    await waitFor('the 429 after the relist', deniedWith(429));
    expect(fake.requests.filter((r) => !r.watch && r.path === '/apis/policy/v1/poddisruptionbudgets').length).toBeGreaterThanOrEqual(2);
  });

  it('confirms a deny from the cache with a live read of the pod and its namespace PDBs', async () => {
    await waitFor('ready', async () => (await readyz()) === 200);
    fake.upsert(exhaustedPdb());
    await waitFor('the 429', deniedWith(429));
    const before = fake.requests.length;
    expect((await evict('shop', 'web-1')).response.status?.code).toBe(429);
    const reads = fake.requests.slice(before).filter((r) => !r.watch).map((r) => r.path);
    expect(reads).toEqual(expect.arrayContaining(['/api/v1/namespaces/shop/pods/web-1', '/apis/policy/v1/namespaces/shop/poddisruptionbudgets']));
    // An allow from the cache needs no confirmation.
    fake.upsert(openPdb());
    await waitFor('allowed', allowed());
    const afterAllow = fake.requests.length;
    await evict('shop', 'web-1');
    expect(fake.requests.slice(afterAllow).filter((r) => !r.watch)).toEqual([]);
  });

  it('reads a pod missing from the cache live', async () => {
    await waitFor('ready', async () => (await readyz()) === 200);
    fake.upsert(exhaustedPdb());
    await waitFor('the 429', deniedWith(429));
    fake.upsert(podObject('shop', 'web-3', { labels: { app: 'web' } }));
    const answer = await evict('shop', 'web-3');
    expect(answer.response.status?.code).toBe(429);
    expect((await evict('shop', 'no-such-pod')).response.allowed).toBe(true);
  });

  it('answers within 5 s while the API server is down, failing open, and recovers after', async () => {
    await waitFor('ready', async () => (await readyz()) === 200);
    fake.upsert(exhaustedPdb());
    await waitFor('the 429', deniedWith(429));

    fake.setDown(true);
    for (const pod of ['web-1', 'not-cached']) {
      const started = Date.now();
      const { response } = await evict('shop', pod);
      expect(Date.now() - started).toBeLessThan(5000);
      expect(response.allowed).toBe(true);
      expect(response.warnings?.[0]).toMatch(/eviction-guard could not (confirm|read)/);
    }

    fake.setStalled(true);
    fake.setDown(false);
    const started = Date.now();
    expect((await evict('shop', 'stalled-pod')).response.allowed).toBe(true);
    expect(Date.now() - started).toBeLessThan(5000);
    fake.setStalled(false);

    fake.upsert(openPdb());
    await waitFor('allowed after recovery', allowed());
    fake.upsert(exhaustedPdb());
    await waitFor('the watch works again after recovery', deniedWith(429), 15000);
  }, 30000);

  it('gives a dryRun eviction the same decision', async () => {
    await waitFor('ready', async () => (await readyz()) === 200);
    fake.upsert(exhaustedPdb());
    await waitFor('the 429', deniedWith(429));
    const real = await evict('shop', 'web-1');
    const dry = await evict('shop', 'web-1', true);
    expect(dry.response.allowed).toBe(false);
    expect(dry.response.status).toEqual(real.response.status);
  });

  it('answers a v1beta1 review in v1beta1 with the uid echoed', async () => {
    await waitFor('ready', async () => (await readyz()) === 200);
    const body = review('shop', 'web-1');
    body.apiVersion = 'admission.k8s.io/v1beta1';
    const answer = JSON.parse((await postJson(webhook.port, tls.cert, body)).text) as AdmissionAnswer;
    expect(answer.apiVersion).toBe('admission.k8s.io/v1beta1');
    expect(answer.response.uid).toBe(body.request.uid);
  });
});
