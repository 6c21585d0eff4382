// Disruption bursts end to end (issue 10): real HTTPS to one or two `startWebhook` replicas, each
// with its own index, reserver and connections, against one fake API server that holds the pods,
// the EvictionPolicy and the reservation Leases. Many evictions of one scope arrive at once; the
// counting rule's limit must hold, whichever replica answers.
import { createLogger } from '../../src/audit/logger';
import { startWebhook, type RunningWebhook, type ServeOptions } from '../../src/cli/serve';
import { leaseName, RESERVATIONS_ANNOTATION } from '../../src/reservation/lease';
import { evictionReview } from '../admission/reviews';
import { FakeApiServer } from '../fake-apiserver';
import { evictionPolicyObject, namespaceObject, pdbObject, podObject, workloadObject } from '../helpers/objects';
import { makeTestCertificate } from '../helpers/tls';
import { httpsCall, postJson } from '../server/https-client';
import { liveServeOptions, operatorHeaders, useServingPairDir, waitFor, type AdmissionAnswer } from './harness';

const tls = makeTestCertificate();
const servingDir = useServingPairDir('e2e-reservations-', tls);
const LEASE_NAMESPACE = 'eviction-guard';
const PODS = ['web-1', 'web-2', 'web-3', 'web-4', 'web-5', 'web-6'];
const LIMIT = 2;
const OWNER_LEASE = leaseName({ scope: 'owner', key: 'shop/Deployment/web' });

let fake: FakeApiServer;
let replicas: RunningWebhook[] = [];
let uidCounter = 0;

type Answer = AdmissionAnswer['response'];

async function evict(replica: RunningWebhook, name: string, dryRun = false): Promise<Answer> {
  const body = evictionReview();
  Object.assign(body.request, { uid: `reservations-e2e-${++uidCounter}`, name, namespace: 'shop', dryRun });
  const reply = await postJson(replica.port, tls.cert, body);
  expect(reply.status).toBe(200);
  return (JSON.parse(reply.text) as AdmissionAnswer).response;
}

/** Every pod evicted at once, spread over the replicas in turn; the answers by pod. */
async function burst(pods: readonly string[], dryRun = false): Promise<Map<string, Answer>> {
  const answers = await Promise.all(pods.map((name, index) => evict(replicas[index % replicas.length], name, dryRun)));
  return new Map(pods.map((name, index) => [name, answers[index]]));
}

const allowedOf = (answers: Map<string, Answer>) => [...answers].filter(([, answer]) => answer.allowed).map(([name]) => name);

function reservedIn(leaseNamespace = LEASE_NAMESPACE): string[] {
  const lease = fake.leases.get(leaseNamespace, OWNER_LEASE);
  const entries = JSON.parse(lease?.metadata.annotations?.[RESERVATIONS_ANNOTATION] ?? '[]') as { pod: string }[];
  return entries.map((entry) => entry.pod.split('/')[1]).sort();
}

const webPod = (name: string, options: Parameters<typeof podObject>[2] = {}) =>
  podObject('shop', name, { labels: { app: 'web' }, owner: { kind: 'ReplicaSet', name: 'web-rs' }, ...options });

function limitPolicy(failurePolicy: 'Fail' | 'Ignore' = 'Fail') {
  return evictionPolicyObject('two-at-a-time', { failurePolicy, rules: [{ maxDisruptions: { per: 'owner', count: LIMIT } }] });
}

async function startReplicas(count: number, overrides: Partial<ServeOptions> = {}): Promise<void> {
  for (let index = 0; index < count; index++) {
    const options = liveServeOptions(servingDir.path, fake, { reservationNamespace: LEASE_NAMESPACE, reservationTtlMs: 60_000, ...overrides });
    replicas.push(await startWebhook(options, createLogger('silent')));
  }
  await waitFor('every replica ready with the policy loaded', async () => {
    const details = await Promise.all(replicas.map(async (replica) => (await httpsCall({ port: replica.port, ca: tls.cert, path: '/readyz/details', headers: operatorHeaders(fake) })).text));
    return details.every((text) => (JSON.parse(text) as { synced: boolean; policies: { loaded: string[] } }).policies.loaded.includes('two-at-a-time'));
  });
}

beforeEach(async () => {
  fake = await FakeApiServer.start();
  fake.upsert(namespaceObject('shop'));
  fake.upsert(workloadObject('Deployment', 'shop', 'web', PODS.length));
  fake.upsert(workloadObject('ReplicaSet', 'shop', 'web-rs', PODS.length, { kind: 'Deployment', name: 'web' }));
  for (const name of PODS) fake.upsert(webPod(name));
  // A budget that allows every eviction: only the policy limits them.
  fake.upsert(pdbObject('shop', 'web-pdb', { selector: { matchLabels: { app: 'web' } }, maxUnavailable: PODS.length, disruptionsAllowed: PODS.length, currentHealthy: PODS.length, desiredHealthy: 0, expectedPods: PODS.length }));
  fake.upsert(limitPolicy());
});

afterEach(async () => {
  await Promise.all(replicas.map((replica) => replica.close()));
  replicas = [];
  await fake.close();
});

describe.each([1, 2])('a burst of evictions against %i replica(s)', (count) => {
  it(`allows exactly ${LIMIT} of ${PODS.length}, denies the rest with 429 naming the reserved pods, and allows the next once those are gone`, async () => {
    await startReplicas(count);
    const answers = await burst(PODS);
    const allowed = allowedOf(answers);
    expect(allowed).toHaveLength(LIMIT);
    for (const [name, answer] of answers) {
      if (answer.allowed) continue;
      expect([name, answer.status?.code, answer.status?.reason]).toEqual([name, 429, 'TooManyRequests']);
      expect(answer.status?.message).toContain(`[policy/two-at-a-time/maxDisruptions] ${LIMIT} pods of Deployment shop/web are already in disruption (reserved: `);
      for (const reserved of allowed) expect(answer.status?.message).toContain(reserved);
    }
    expect(reservedIn()).toEqual([...allowed].sort());
    expect(fake.leases.get(LEASE_NAMESPACE, OWNER_LEASE)?.metadata.labels).toMatchObject({ 'app.kubernetes.io/component': 'reservations', 'evictionguard.io/scope': 'owner' });

    // Terminating pods still count; once they are gone, two more fit, and their reservations are pruned.
    for (const name of allowed) fake.upsert(webPod(name, { deleting: true }));
    expect(allowedOf(await burst(PODS.filter((name) => !allowed.includes(name))))).toEqual([]);
    for (const name of allowed) fake.remove('Pod', 'shop', name);
    const remaining = PODS.filter((name) => !allowed.includes(name));
    await waitFor('every replica to see the pods gone', () => replicas.every((replica) => replica.cluster.inventory().podsInNamespace('shop').length === remaining.length));
    const next = allowedOf(await burst(remaining));
    expect(next).toHaveLength(LIMIT);
    expect(reservedIn()).toEqual([...next].sort());
  });
});

describe('reservations', () => {
  it('expire after their TTL, letting the next evictions through', async () => {
    const ttlMs = 2000;
    await startReplicas(2, { reservationTtlMs: ttlMs });
    const first = allowedOf(await burst(PODS));
    const reservedBy = Date.now();
    expect(first).toHaveLength(LIMIT);
    const rest = PODS.filter((name) => !first.includes(name));
    // Every reservation of the burst was written before it answered: all have lapsed a TTL later.
    await new Promise((resolve) => setTimeout(resolve, reservedBy + ttlMs + 100 - Date.now()));
    const next = allowedOf(await burst(rest));
    expect(next).toHaveLength(LIMIT);
    expect(reservedIn()).toEqual([...next].sort());
  });

  it('are counted by dry runs, which never write one', async () => {
    await startReplicas(2);
    expect((await evict(replicas[0], 'web-1', true)).allowed).toBe(true);
    expect(fake.leases.calls.filter((call) => call.method !== 'GET')).toEqual([]);
    await burst(PODS.slice(0, LIMIT));
    const writes = fake.leases.calls.filter((call) => call.method !== 'GET').length;
    const dry = await evict(replicas[1], 'web-6', true);
    expect(dry.status?.code).toBe(429);
    expect(fake.leases.calls.filter((call) => call.method !== 'GET')).toHaveLength(writes);
  });

  it('follow failurePolicy when the API server cannot record them: Fail answers 429 "could not reserve", Ignore allows with a warning', async () => {
    await startReplicas(1);
    fake.leases.failing = true;
    const failed = await evict(replicas[0], 'web-1');
    expect(failed.status?.code).toBe(429);
    expect(failed.status?.message).toContain('[policy/two-at-a-time/maxDisruptions] Could not reserve this eviction, which counts toward the limit (Leases in namespace eviction-guard: ');
    expect(failed.status?.message).toContain('HTTP 500 InternalError');

    fake.upsert(limitPolicy('Ignore'));
    await waitFor('the Ignore policy', async () => (await evict(replicas[0], 'web-1')).allowed);
    expect((await evict(replicas[0], 'web-1')).warnings).toEqual(['policy two-at-a-time: allowed without a reservation; concurrent evictions may exceed its limit']);
  });

  it('give up within their 2 s when the API server stalls or goes down, and the answer comes within the 5 s timeout', async () => {
    await startReplicas(1);
    fake.leases.stalled = true;
    let started = Date.now();
    const stalled = await evict(replicas[0], 'web-1');
    const took = Date.now() - started;
    expect(stalled.status?.code).toBe(429);
    expect(stalled.status?.message).toMatch(/timed out after \d+ ms/);
    expect(took).toBeGreaterThanOrEqual(1900);
    expect(took).toBeLessThan(5000);

    fake.leases.stalled = false;
    fake.setDown(true);
    started = Date.now();
    const down = await evict(replicas[0], 'web-2');
    expect(Date.now() - started).toBeLessThan(5000);
    expect(down.status?.code).toBe(429);
    expect(down.status?.message).toContain('Could not reserve this eviction');
  }, 20000);
});
