// Who may call the webhook and who may read its audit trail, end to end: real HTTPS to
// `startWebhook` watching the fake API server, which also answers TokenReview and
// SubjectAccessReview (fake-auth.ts) and stores the Events the webhook writes.
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeFileAtomically } from '../../src/certs/files';
import { startWebhook, type RunningWebhook, type ServeOptions } from '../../src/cli/serve';
import { OPERATOR_ROUTES } from '../../src/server/app';
import { demoClusterView } from '../../src/cluster/snapshot';
import type { AuditEntry } from '../../src/audit/trail';
import { evictionReview } from '../admission/reviews';
import { FakeApiServer } from '../fake-apiserver';
import { evictionPolicyObject, namespaceObject } from '../helpers/objects';
import { captureLog, WARN } from '../helpers/log-capture';
import { issueTestClientCertificate, makeTestAuthority, makeTestCertificate, type TestCertificate } from '../helpers/tls';
import { httpsCall, type HttpsReply } from '../server/https-client';
import { routeWebhookService, WEBHOOK_DNS_NAME, webhookConfiguration } from './kubectl';
import {
  exhaustedWebPdb,
  httpGet,
  liveServeOptions,
  openWebPdb,
  operatorHeaders,
  samples,
  useServingPairDir,
  waitFor,
  webPod,
  type AdmissionAnswer,
} from './harness';

/** A non-loopback address of this machine, to call from as a pod would; undefined when there is none. */
const externalAddress = Object.values(os.networkInterfaces())
  .flat()
  .find((entry) => entry !== undefined && entry.family === 'IPv4' && !entry.internal)?.address;

// Valid for the Service name too: the fake API server's own admission calls check it.
const tls = makeTestCertificate({
  dnsNames: ['localhost', WEBHOOK_DNS_NAME],
  ipAddresses: ['127.0.0.1', ...(externalAddress ? [externalAddress] : [])],
});
const apiServerCa = makeTestAuthority('apiserver-client-ca');
const otherCa = makeTestAuthority('someone-else-ca');
const apiServerClient = issueTestClientCertificate(apiServerCa, { commonName: 'kube-apiserver', organization: 'system:masters' });
const otherClient = issueTestClientCertificate(otherCa, { commonName: 'kube-apiserver' });

const servingDir = useServingPairDir('e2e-security-', tls);
let fake: FakeApiServer;
let webhook: RunningWebhook;
let log: ReturnType<typeof captureLog>;
const running = new Set<RunningWebhook>();
let uidCounter = 0;

async function start(overrides: Partial<ServeOptions> = {}): Promise<void> {
  log = captureLog('info');
  webhook = await startWebhook(liveServeOptions(servingDir.path, fake, { metricsPort: 0, metricsAddress: '127.0.0.1', events: 'deny', eventTuning: { patchIntervalMs: 100 }, ...overrides }), log.logger);
  running.add(webhook);
  await waitFor('ready', async () => (await httpsCall({ port: webhook.port, ca: tls.cert, path: '/readyz' })).status === 200);
}

function review(name: string, deleteOptions: Record<string, unknown> = {}) {
  const body = evictionReview();
  Object.assign(body.request, { uid: `security-${++uidCounter}`, name, namespace: 'shop' });
  body.request.object = { ...body.request.object, metadata: { name, namespace: 'shop' }, deleteOptions };
  return body;
}

/** POST /validate, with a client certificate or none. */
const validate = (body: unknown, client?: TestCertificate) =>
  httpsCall({ port: webhook.port, ca: tls.cert, method: 'POST', path: '/validate', body: JSON.stringify(body), headers: { 'content-type': 'application/json' }, client });

const answer = (reply: HttpsReply) => (JSON.parse(reply.text) as AdmissionAnswer).response;
const operator = (route: string, headers: Record<string, string> = {}) => httpsCall({ port: webhook.port, ca: tls.cert, path: route, headers });
const recentItems = async () => (JSON.parse((await operator('/audit/recent', operatorHeaders(fake))).text) as { items: AuditEntry[] }).items;

const scrape = async () => (await httpGet(webhook.metricsPort!, '/metrics')).text;
/** The value of one series of a scrape; 0 when absent. */
const sample = (text: string, name: string, labels: Record<string, string>) =>
  samples(text, name).find((entry) => JSON.stringify(entry.labels) === JSON.stringify(labels))?.value ?? 0;


beforeEach(async () => {
  fake = await FakeApiServer.start();
  fake.upsert(webPod('web-1'));
  fake.upsert(webPod('web-2'));
  fake.upsert(exhaustedWebPdb());
  fake.auth.addToken('web-token', { username: 'system:serviceaccount:apps:web', groups: ['system:serviceaccounts', 'system:authenticated'] });
});

afterEach(async () => {
  await Promise.all([...running].map((each) => each.close()));
  running.clear();
  await fake.close();
});

describe('operator endpoints, delegated to the API server', () => {
  it('answer /audit/recent 401 without a token, 403 to a user RBAC does not allow, and 200 to one it does', async () => {
    await start();
    await validate(review('web-1'));

    const anonymous = await operator('/audit/recent');
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers['www-authenticate']).toBe('Bearer realm="eviction-guard"');
    expect(anonymous.text).not.toContain('kubernetes-admin');

    const made = await operator('/audit/recent', { authorization: 'Bearer made-up' });
    expect(made.status).toBe(401);

    const web = await operator('/audit/recent', { authorization: 'Bearer web-token' });
    expect(web.status).toBe(403);
    expect(JSON.parse(web.text)).toEqual({ error: 'forbidden: User "system:serviceaccount:apps:web" cannot get path "/audit/recent"' });

    const allowed = await operator('/audit/recent', operatorHeaders(fake));
    expect(allowed.status).toBe(200);
    expect((JSON.parse(allowed.text) as { items: AuditEntry[] }).items.map((item) => item.audit.user)).toEqual(['kubernetes-admin']);
    expect(fake.auth.reviews.filter((entry) => entry.kind === 'SubjectAccessReview')).toEqual([
      { kind: 'SubjectAccessReview', user: 'system:serviceaccount:apps:web', path: '/audit/recent', verb: 'get' },
      { kind: 'SubjectAccessReview', user: 'alice@corp.example', path: '/audit/recent', verb: 'get' },
    ]);
  });

  it('cache the answers: repeated reads with one token cost one TokenReview and one SubjectAccessReview', async () => {
    await start();
    const headers = operatorHeaders(fake);
    for (let read = 0; read < 5; read++) expect((await operator('/audit/recent', headers)).status).toBe(200);
    for (let read = 0; read < 3; read++) expect((await operator('/audit/recent', { authorization: 'Bearer web-token' })).status).toBe(403);
    expect([fake.auth.count('TokenReview'), fake.auth.count('SubjectAccessReview')]).toEqual([2, 2]);
    // Another path is another question for the same token.
    expect((await operator('/readyz/details', headers)).status).toBe(200);
    expect([fake.auth.count('TokenReview'), fake.auth.count('SubjectAccessReview')]).toEqual([3, 3]);
  });

  it('show counts, restarts and policy errors only on /readyz/details, and only to an allowed caller', async () => {
    await start();
    const probe = await operator('/readyz');
    expect(probe).toMatchObject({ status: 200, text: 'ok' });
    expect(probe.text).not.toMatch(/count|pods|restarts|policies/);

    expect((await operator('/readyz/details')).status).toBe(401);
    expect((await operator('/readyz/details', { authorization: 'Bearer web-token' })).status).toBe(403);
    const details = await operator('/readyz/details', operatorHeaders(fake));
    expect(details.status).toBe(200);
    expect(JSON.parse(details.text)).toMatchObject({ mode: 'live', synced: true, resources: expect.arrayContaining([expect.objectContaining({ resource: 'pods', count: 2 })]) });
  });

  it('answer 503 while the API server cannot review the caller, and recover', async () => {
    await start();
    const headers = operatorHeaders(fake);
    fake.auth.failing = true;
    const down = await operator('/audit/recent', headers);
    expect(down.status).toBe(503);
    expect(down.headers['retry-after']).toBe('1');
    fake.auth.failing = false;
    fake.auth.forbidden = true;
    expect((await operator('/audit/recent', headers)).status).toBe(503);
    expect(log.lines).toContainEqual(expect.objectContaining({ level: WARN, problem: expect.stringMatching(/TokenReview failed: .*HTTP 403 Forbidden/) }));
    fake.auth.forbidden = false;
    expect((await operator('/audit/recent', headers)).status).toBe(200);
  });
});

describe('mTLS on /validate (--client-ca)', () => {
  const clientCaPath = () => path.join(servingDir.path, 'client-ca.crt');

  beforeEach(() => writeFileSync(clientCaPath(), apiServerCa.cert));

  it('gives a caller without a certificate, or with one from another CA, no decision, no audit line and no Event', async () => {
    await start({ clientCa: clientCaPath(), clientNames: ['kube-apiserver'], tlsReload: { debounceMs: 20, pollIntervalMs: 100 } });
    for (const client of [undefined, otherClient]) {
      const reply = await validate(review('web-1'), client);
      expect(reply.status).toBe(401);
      expect(reply.text).not.toContain('"allowed"');
    }
    // The API server's own certificate: a decision, audited with its subject, and an Event.
    const real = await validate(review('web-2'), apiServerClient);
    expect(real.status).toBe(200);
    expect(answer(real)).toMatchObject({ allowed: false, status: { code: 429 } });
    await waitFor('the Event of the real denial', () => fake.events.forPod('shop', 'web-2').length === 1);

    const items = await recentItems();
    expect(items.map((item) => [item.audit.pod, item.audit.caller])).toEqual([['shop/web-2', 'CN=kube-apiserver,O=system:masters']]);
    expect(fake.events.forPod('shop', 'web-1')).toEqual([]);
    const metrics = await scrape();
    expect(sample(metrics, 'evictionguard_client_certificate_refusals_total', { reason: 'missing' })).toBe(1);
    expect(sample(metrics, 'evictionguard_client_certificate_refusals_total', { reason: 'untrusted' })).toBe(1);
  });

  it('answers the API server when its AdmissionConfiguration gives it the client certificate, and only then', async () => {
    await start({ clientCa: clientCaPath(), clientNames: ['kube-apiserver'] });
    fake.upsert(namespaceObject('shop'));
    fake.upsert(webhookConfiguration(tls.cert));
    routeWebhookService(fake, [webhook.port]);
    const evictThroughApiServer = (name: string) =>
      httpsCall({
        port: Number(new URL(fake.url).port),
        ca: fake.ca,
        method: 'POST',
        path: `/api/v1/namespaces/shop/pods/${name}/eviction`,
        headers: { authorization: `Bearer ${fake.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name, namespace: 'shop' } }),
      });

    // No client certificate configured: the webhook refuses the call, and under failurePolicy
    // Ignore the API server decides alone (its own bare 429).
    const unchecked = await evictThroughApiServer('web-1');
    expect(unchecked.status).toBe(429);
    expect(unchecked.text).not.toContain('[pdb/budget]');
    expect(fake.admission.calls.map((call) => call.outcome)).toEqual([expect.stringContaining('the server responded with the status code 401')]);

    fake.admission.clientCertificates.set(WEBHOOK_DNS_NAME, apiServerClient);
    const checked = await evictThroughApiServer('web-1');
    expect(checked.status).toBe(429);
    expect(checked.text).toContain('[pdb/budget] PDB shop/web-pdb');
    expect(fake.admission.calls.at(-1)?.outcome).toBe('denied');
    expect((await recentItems()).map((item) => item.audit.caller)).toEqual(['CN=kube-apiserver,O=system:masters']);
  });

  it('picks up a rotated client CA file without a restart', async () => {
    await start({ clientCa: clientCaPath(), tlsReload: { debounceMs: 20, pollIntervalMs: 100 } });
    expect((await validate(review('web-1'), otherClient)).status).toBe(401);
    writeFileAtomically(clientCaPath(), `${apiServerCa.cert}${otherCa.cert}`, 0o644);
    await waitFor('the rotated CA', async () => (await validate(review('web-1'), otherClient)).status === 200);
    expect((await validate(review('web-1'), apiServerClient)).status).toBe(200);
    writeFileAtomically(clientCaPath(), otherCa.cert, 0o644);
    await waitFor('the old CA to be dropped', async () => (await validate(review('web-1'), apiServerClient)).status === 401);
  });

  it('says at start-up that mTLS is on, and warns once when it is off', async () => {
    await start({ clientCa: clientCaPath() });
    expect(log.messages()).toContain('mTLS on /validate: callers need a client certificate signed by --client-ca');
    expect(log.messages(WARN).filter((message) => message.startsWith('mTLS is off'))).toEqual([]);
    await start();
    expect(log.messages(WARN).filter((message) => message.startsWith('mTLS is off'))).toEqual([
      'mTLS is off (no --client-ca): /validate answers any caller that can reach the port and audits its reviews as "unauthenticated"; see docs/security.md',
    ]);
  });

  it('refuses to start without a readable client CA file', async () => {
    await expect(startWebhook(liveServeOptions(servingDir.path, fake, { clientCa: path.join(servingDir.path, 'missing-ca.crt') }), captureLog('silent').logger)).rejects.toThrow(
      /^cannot read --client-ca .*missing-ca\.crt: ENOENT/,
    );
  });
});

describe('side effects only for believable reviews (mTLS off)', () => {
  it('writes no Event for a forged review of a pod that does not exist, or of another pod\'s uid, and still answers and audits it', async () => {
    // Events for every decision, so that the allowed eviction of a pod that does not exist would get one too.
    await start({ events: 'all' });
    const ghost = await validate(review('ghost-1'));
    expect(answer(ghost).allowed).toBe(true);
    const wrongUid = await validate(review('web-1', { preconditions: { uid: 'uid-of-a-deleted-pod' } }));
    expect(answer(wrongUid)).toMatchObject({ allowed: false, status: { code: 429 } });
    // A real denial afterwards: once its Event is in, anything queued before it would be too.
    const real = await validate(review('web-2', { preconditions: { uid: 'web-2-uid' } }));
    expect(answer(real).allowed).toBe(false);
    await waitFor('the Event of the real denial', () => fake.events.forPod('shop', 'web-2').length === 1);

    expect(fake.events.list().map((event) => event.involvedObject?.name)).toEqual(['web-2']);
    expect((await recentItems()).map((item) => item.audit.pod)).toEqual(['shop/ghost-1', 'shop/web-1', 'shop/web-2']);
    const metrics = await scrape();
    expect(sample(metrics, 'evictionguard_side_effects_skipped_total', { effect: 'event', reason: 'pod-not-found' })).toBe(1);
    expect(sample(metrics, 'evictionguard_side_effects_skipped_total', { effect: 'event', reason: 'uid-mismatch' })).toBe(1);
  });

  it('limits new Events per source address, counting what it refused', async () => {
    await start({ sideEffectRate: { perSecond: 0.001, burst: 1 } });
    expect(answer(await validate(review('web-1'))).allowed).toBe(false);
    expect(answer(await validate(review('web-2'))).allowed).toBe(false);
    // Repeats of the Event already made still fold into it.
    expect(answer(await validate(review('web-1'))).allowed).toBe(false);
    await waitFor('the first Event to count both denials', () => fake.events.forPod('shop', 'web-1')[0]?.count === 2);
    expect(fake.events.forPod('shop', 'web-2')).toEqual([]);
    expect(sample(await scrape(), 'evictionguard_side_effects_skipped_total', { effect: 'event', reason: 'rate-limited' })).toBe(1);
  });
});

describe('reservations only for believable reviews', () => {
  it('writes no reservation Lease for a review naming another pod\'s uid, and writes one for the real review', async () => {
    fake.upsert(openWebPdb());
    fake.upsert(evictionPolicyObject('one-at-a-time', { rules: [{ maxDisruptions: { per: 'owner', count: 1 } }] }));
    await start({ reservationNamespace: 'eviction-guard', reservationTtlMs: 60_000 });
    await waitFor('the policy', async () => {
      const details = JSON.parse((await operator('/readyz/details', operatorHeaders(fake))).text) as { policies: { loaded: string[] } };
      return details.policies.loaded.includes('one-at-a-time');
    });
    const leaseWrites = () => fake.leases.calls.filter((call) => call.method !== 'GET');

    expect(answer(await validate(review('web-1', { preconditions: { uid: 'uid-of-a-deleted-pod' } }))).allowed).toBe(true);
    expect(leaseWrites()).toEqual([]);
    expect(answer(await validate(review('web-1', { preconditions: { uid: 'web-1-uid' } }))).allowed).toBe(true);
    expect(leaseWrites().length).toBeGreaterThanOrEqual(1);
    // The reserved pod now counts: another pod of the owner waits.
    expect(answer(await validate(review('web-2'))).status?.code).toBe(429);

    expect((await recentItems()).map((item) => item.audit.reservation?.result)).toEqual(['skipped', 'reserved', 'denied']);
    expect(sample(await scrape(), 'evictionguard_side_effects_skipped_total', { effect: 'reservation', reason: 'uid-mismatch' })).toBe(1);
  });
});

describe('operator endpoints without a cluster (demo or snapshot mode)', () => {
  it('answer loopback callers only, with no token to check', async () => {
    log = captureLog('info');
    webhook = await startWebhook({ port: 0, tlsCert: path.join(servingDir.path, 'tls.crt'), tlsKey: path.join(servingDir.path, 'tls.key'), logLevel: 'silent', certDir: servingDir.path }, log.logger, demoClusterView());
    running.add(webhook);
    expect(log.lines).toContainEqual(
      expect.objectContaining({ msg: 'operator endpoints answer loopback callers only: there is no API server to authorize against', routes: [...OPERATOR_ROUTES] }),
    );
    expect((await operator('/audit/recent')).status).toBe(200);
    expect((await operator('/readyz/details')).status).toBe(200);
    if (externalAddress === undefined) return;
    const fromOutside = await httpsCall({ host: externalAddress, port: webhook.port, ca: tls.cert, path: '/audit/recent' });
    expect(fromOutside.status).toBe(403);
    expect(JSON.parse(fromOutside.text).error).toMatch(/only loopback callers are answered/);
  });
});
