// Policies end to end: real HTTPS to `startWebhook`, which watches a fake API server for pods, PDBs,
// workloads, namespaces and EvictionPolicy objects, and reads `--policy` files. Every change goes
// through the fake or the files; decisions must follow without a restart.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createLogger } from '../../src/audit/logger';
import { startWebhook, type RunningWebhook, type ServeOptions } from '../../src/cli/serve';
import { evictionReview } from '../admission/reviews';
import { FakeApiServer } from '../fake-apiserver';
import { evictionPolicyObject, namespaceObject, pdbObject, podObject, workloadObject } from '../helpers/objects';
import { makeTestCertificate } from '../helpers/tls';
import { liveServeOptions, operatorHeaders, useServingPairDir, waitFor, type AdmissionAnswer } from './harness';
import { httpsCall, postJson } from '../server/https-client';

interface ReadyDetails {
  synced: boolean;
  policies: {
    mode: string;
    loaded: string[];
    errors: { policy?: string; origin: string; message: string }[];
    cluster?: { synced: boolean; hint?: string };
  };
}

const tls = makeTestCertificate();
const servingDir = useServingPairDir('e2e-policy-', tls);
let policyDir: string;
let fake: FakeApiServer;
let webhook: RunningWebhook | undefined;
let uidCounter = 0;

async function evict(name: string, dryRun = false): Promise<AdmissionAnswer['response']> {
  const body = evictionReview();
  Object.assign(body.request, { uid: `policy-e2e-${++uidCounter}`, name, namespace: 'shop', dryRun });
  const reply = await postJson(webhook!.port, tls.cert, body);
  expect(reply.status).toBe(200);
  return (JSON.parse(reply.text) as AdmissionAnswer).response;
}

async function readyz(): Promise<{ status: number; details: ReadyDetails }> {
  const reply = await httpsCall({ port: webhook!.port, ca: tls.cert, path: '/readyz/details', headers: operatorHeaders(fake) });
  return { status: reply.status, details: JSON.parse(reply.text) as ReadyDetails };
}

async function start(options: Partial<ServeOptions> = {}): Promise<void> {
  webhook = await startWebhook(
    liveServeOptions(servingDir.path, fake, options),
    createLogger('silent'),
  );
  await waitFor('ready', async () => (await readyz()).status === 200);
}

const deniedWith = (code: number, name = 'web-1') => async () => (await evict(name)).status?.code === code;
const allowed = (name = 'web-1') => async () => (await evict(name)).allowed;
const policyFile = (name: string, spec: object) => JSON.stringify(evictionPolicyObject(name, spec));
const webPod = (name: string, options: Parameters<typeof podObject>[2] = {}) =>
  podObject('shop', name, { labels: { app: 'web' }, owner: { kind: 'ReplicaSet', name: 'web-rs' }, ...options });

beforeEach(async () => {
  policyDir = path.join(servingDir.path, `policies-${++uidCounter}`);
  mkdirSync(policyDir);
  fake = await FakeApiServer.start();
  fake.upsert(namespaceObject('shop', { env: 'prod' }));
  fake.upsert(workloadObject('Deployment', 'shop', 'web', 3));
  fake.upsert(workloadObject('ReplicaSet', 'shop', 'web-rs', 3, { kind: 'Deployment', name: 'web' }));
  for (const name of ['web-1', 'web-2', 'web-3']) fake.upsert(webPod(name));
  fake.upsert(pdbObject('shop', 'web-pdb', { selector: { matchLabels: { app: 'web' } }, minAvailable: 1, disruptionsAllowed: 2, currentHealthy: 3, expectedPods: 3 }));
});

afterEach(async () => {
  await webhook?.close();
  webhook = undefined;
  await fake.close();
});

describe('eviction-guard policies end to end', () => {
  it('applies an EvictionPolicy created in the cluster without a restart, and drops it when deleted', async () => {
    await start();
    expect((await evict('web-1')).allowed).toBe(true);

    fake.upsert(evictionPolicyObject('protect-web', { match: { podSelector: { matchLabels: { app: 'web' } } }, rules: [{ protect: {} }] }));
    await waitFor('the policy denial', deniedWith(403));
    const denied = await evict('web-1');
    expect(denied.status?.reason).toBe('Forbidden');
    expect(denied.status?.message.split('\n')).toEqual([
      'eviction-guard denied this eviction (policy/protect-web/protect); retrying will not help.',
      '[policy/protect-web/protect] Pod shop/web-1 is protected: this policy does not allow evicting it. Fix: change the policy if the pod may go, or delete the pod directly.',
    ]);
    expect((await readyz()).details.policies).toMatchObject({ loaded: ['protect-web'], cluster: { synced: true } });

    fake.remove('EvictionPolicy', '', 'protect-web');
    await waitFor('allowed again', allowed());
  });

  it('reports an invalid policy in /readyz and keeps applying the valid ones', async () => {
    await start();
    fake.upsert(evictionPolicyObject('broken', { rules: [{ window: { allow: ['Mon-Fri 9-5'], timeZone: 'Europe/Berlin' } }] }));
    fake.upsert(evictionPolicyObject('bad-cel', { rules: [{ cel: { expression: 'owner.replicas >' } }] }));
    fake.upsert(evictionPolicyObject('need-two', { rules: [{ minReplicas: 5 }] }));
    await waitFor('the valid policy', deniedWith(403));

    const { status, details } = await readyz();
    expect(status).toBe(200);
    expect(details.policies.loaded).toEqual(['need-two']);
    expect(details.policies.errors).toEqual([
      expect.objectContaining({ policy: 'broken', message: expect.stringContaining('spec.rules[0].window.allow[0]: "Mon-Fri 9-5" is not a time range') }),
      {
        policy: 'bad-cel',
        origin: 'cluster',
        message: 'policy "bad-cel" (cluster): spec.rules[0].cel.expression: CEL: line 1, column 16: found > but expecting end of input',
      },
    ]);
    expect((await evict('web-1')).status?.message).toContain('[policy/need-two/minReplicas] Deployment shop/web has 3 replicas');
  });

  it('follows pods that start terminating and pods a PDB records as disrupted in maxDisruptions', async () => {
    fake.upsert(evictionPolicyObject('one-at-a-time', { rules: [{ maxDisruptions: { per: 'owner', count: 1 } }] }));
    await start();
    await waitFor('the policy', async () => (await readyz()).details.policies.loaded.length === 1);
    expect((await evict('web-1')).allowed).toBe(true);

    fake.upsert(webPod('web-2', { deleting: true }));
    await waitFor('the 429 while web-2 terminates', deniedWith(429));
    const denied = await evict('web-1');
    expect(denied.status?.reason).toBe('TooManyRequests');
    expect(denied.status?.message).toContain('[policy/one-at-a-time/maxDisruptions] 1 pod of Deployment shop/web is already in disruption (web-2); the limit is 1.');
    // The terminating pod itself may still be evicted: that adds no disruption.
    expect((await evict('web-2')).allowed).toBe(true);

    fake.remove('Pod', 'shop', 'web-2');
    await waitFor('allowed once web-2 is gone', allowed());

    const pdb = pdbObject('shop', 'web-pdb', { selector: { matchLabels: { app: 'web' } }, minAvailable: 1, disruptionsAllowed: 1, currentHealthy: 2 });
    fake.upsert({ ...pdb, status: { ...(pdb.status as object), disruptedPods: { 'web-3': '2024-06-05T10:00:00Z' } } });
    await waitFor('the 429 while the PDB records web-3', deniedWith(429));
  });

  it('answers a Warn policy with an admission warning and allows', async () => {
    fake.upsert(evictionPolicyObject('heads-up', { action: 'Warn', match: { namespaces: ['sh*'] }, rules: [{ requirePDB: true }, { minReplicas: 4 }] }));
    await start();
    await waitFor('the warning', async () => ((await evict('web-1')).warnings?.length ?? 0) > 0);
    const answer = await evict('web-1');
    expect(answer.allowed).toBe(true);
    expect(answer.warnings).toEqual(['policy heads-up: Deployment shop/web has 3 replicas, needs 4']);
  });

  it('gives a dryRun eviction the same decision as the real one', async () => {
    fake.upsert(evictionPolicyObject('freeze', { rules: [{ window: { deny: ['00:00-24:00'], timeZone: 'UTC' } }] }));
    await start();
    await waitFor('the window denial', deniedWith(429));
    const real = await evict('web-1');
    const dry = await evict('web-1', true);
    expect(dry.allowed).toBe(false);
    expect(dry.status).toEqual(real.status);
  });

  it('reloads --policy files when they change, and lowers denials under --mode warn', async () => {
    const file = path.join(policyDir, 'protect.yaml');
    writeFileSync(file, policyFile('from-file', { rules: [{ protect: {} }] }));
    await start({ policies: [policyDir], mode: 'warn' });
    const warned = await evict('web-1');
    expect(warned.allowed).toBe(true);
    expect(warned.warnings).toEqual(['policy from-file would deny: pod shop/web-1 is protected']);

    writeFileSync(file, policyFile('from-file', { action: 'Audit', rules: [{ protect: {} }] }));
    await waitFor('the reloaded file', async () => (await evict('web-1')).warnings === undefined);
    expect((await readyz()).details.policies).toMatchObject({ mode: 'warn', files: [policyDir], loaded: ['from-file'] });
  });

  it('denies pods protected by the evictionguard.io/protect annotation unless a policy exempts the requester', async () => {
    fake.upsert(webPod('web-1', { annotations: { 'evictionguard.io/protect': 'true' } }));
    await start();
    await waitFor('the annotation denial', deniedWith(403));
    expect((await evict('web-1')).status?.message).toContain('[policy/annotation-protect] Pod shop/web-1 is protected: it has the annotation evictionguard.io/protect=true.');

    // evictionReview() asks as kubernetes-admin in kubeadm:cluster-admins.
    fake.upsert(evictionPolicyObject('admins-may', { annotationProtection: { exemptSubjects: [{ kind: 'Group', name: 'kubeadm:cluster-admins' }] } }));
    await waitFor('the exemption', allowed());

    fake.upsert(namespaceObject('shop', {}, { 'evictionguard.io/protect': 'true' }));
    await waitFor('the namespace annotation', async () => (await evict('web-2')).allowed);
    fake.remove('EvictionPolicy', '', 'admins-may');
    await waitFor('the namespace protection', deniedWith(403, 'web-2'));
  });

  it('gets ready without the EvictionPolicy CRD, says so, and picks policies up once it is installed', async () => {
    fake.evictionPolicyCrdInstalled = false;
    await start();
    const { details } = await readyz();
    expect(details.policies.cluster).toMatchObject({ synced: false, hint: expect.stringContaining('EvictionPolicy CRD is not installed') });
    expect((await evict('web-1')).allowed).toBe(true);

    fake.evictionPolicyCrdInstalled = true;
    fake.upsert(evictionPolicyObject('late', { rules: [{ protect: {} }] }));
    await waitFor('the policy after the CRD appeared', deniedWith(403), 15000);
  }, 25000);
});
