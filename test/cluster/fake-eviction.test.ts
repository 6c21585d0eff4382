// The fake API server's pods/eviction and validating webhooks must do what kube-apiserver does
// (eviction-semantics.md §1, §6, §7), or the kubectl drain test proves nothing. Each step of §1 is
// pinned here over HTTPS, with a small webhook server standing in for eviction-guard.
import type { IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { FakeApiServer, type KubeObject } from '../fake-apiserver';
import { namespaceObject, pdbObject, podObject } from '../helpers/objects';
import { makeTestCertificate } from '../helpers/tls';

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: any;
}

let fake: FakeApiServer;
beforeEach(async () => {
  fake = await FakeApiServer.start();
  fake.upsert(namespaceObject('shop'));
});
afterEach(() => fake.close());

function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const request = https.request(
      new URL(path, fake.url),
      { method, ca: fake.ca, agent: false, headers: { authorization: `Bearer ${fake.token}`, 'content-type': 'application/json', ...headers } },
      (response) => {
        let text = '';
        response.on('data', (chunk) => (text += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: JSON.parse(text) }));
      },
    );
    request.on('error', reject);
    request.end(body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body));
  });
}

const eviction = (name: string, extra: Record<string, unknown> = {}) => ({ apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name, namespace: 'shop' }, ...extra });
const evict = (name: string, body: unknown = eviction(name), query = '') => call('POST', `/api/v1/namespaces/shop/pods/${name}/eviction${query}`, body);
const webPod = (name: string, options: Parameters<typeof podObject>[2] = {}) => podObject('shop', name, { labels: { app: 'web' }, ...options });
const webPdb = (options: Parameters<typeof pdbObject>[2] = {}) => pdbObject('shop', 'web-pdb', { selector: { matchLabels: { app: 'web' } }, ...options });
const SUCCESS = { kind: 'Status', apiVersion: 'v1', status: 'Success', code: 201 };

describe('FakeApiServer pods/eviction: the steps of eviction.go in order', () => {
  it.each([
    ['a body that is not an Eviction version (step 1)', { apiVersion: 'v1', kind: 'Eviction', metadata: { name: 'web-1' } }, 400, 'the API version in the data (v1) does not match the expected API version (policy/v1)'],
    ['another kind (step 2a)', { apiVersion: 'policy/v1', kind: 'Pod', metadata: { name: 'web-1' } }, 400, 'not a Eviction object: Pod'],
    ['a name that is not the URL\'s (step 2b)', eviction('web-2'), 400, 'name in URL does not match name in Eviction object'],
    [
      'ignoreStoreReadErrorWithClusterBreakingPotential (step 2c)',
      eviction('web-1', { deleteOptions: { ignoreStoreReadErrorWithClusterBreakingPotential: true } }),
      422,
      'Eviction.policy "web-1" is invalid: deleteOptions.ignoreStoreReadErrorWithClusterBreakingPotential: Invalid value: true: can not be set for pod eviction, try after removing the option',
    ],
  ])('refuses %s before anything else', async (_, body, status, message) => {
    fake.upsert(webPod('web-1'));
    const reply = await evict('web-1', body);
    expect(reply).toMatchObject({ status, body: { kind: 'Status', status: 'Failure', code: status, message } });
    expect(fake.read('Pod', 'shop', 'web-1')).toBeDefined();
  });

  it('answers 500 when ?dryRun= and deleteOptions.dryRun differ (step 3)', async () => {
    fake.upsert(webPod('web-1'));
    const reply = await evict('web-1', eviction('web-1', { deleteOptions: { dryRun: ['All'] } }), '?dryRun=None');
    expect(reply).toMatchObject({ status: 500, body: { message: 'Non-matching dry-run options in request and content: [None] and [All]' } });
  });

  it('deletes a pod no PDB selects, with the DisruptionTarget condition first, as a watch sees it (steps 7b, 10)', async () => {
    const since = fake.upsert(webPod('web-1'));
    const events = watchPods(since, 2);
    const reply = await evict('web-1', { apiVersion: 'policy/v1beta1', kind: 'Eviction', metadata: { name: 'web-1' } });
    expect(reply).toMatchObject({ status: 201, body: SUCCESS });
    const [marked, deleted] = await events;
    expect(marked.type).toBe('MODIFIED');
    expect(marked.object.status.conditions).toContainEqual(expect.objectContaining({ type: 'DisruptionTarget', status: 'True', reason: 'EvictionByEvictionAPI' }));
    expect(deleted).toMatchObject({ type: 'DELETED', object: { metadata: { name: 'web-1' } } });
    expect(fake.read('Pod', 'shop', 'web-1')).toBeUndefined();
    expect(fake.evictions.answered).toEqual([{ namespace: 'shop', name: 'web-1', code: 201, dryRun: false }]);
  });

  it('answers 404 for a missing pod (step 5)', async () => {
    expect(await evict('gone')).toMatchObject({ status: 404, body: { reason: 'NotFound', message: 'pods "gone" not found', details: { name: 'gone', kind: 'pods' } } });
  });

  it.each([
    ['Succeeded', { phase: 'Succeeded' }],
    ['Pending', { phase: 'Pending' }],
    ['deleting', { deleting: true }],
  ])('evicts a %s pod without reading PDBs, even two of them (step 6)', async (_, options) => {
    fake.upsert(webPod('web-1', options));
    fake.upsert(webPdb({ disruptionsAllowed: 0 }));
    fake.upsert(pdbObject('shop', 'all-pdb', { selector: {}, disruptionsAllowed: 0 }));
    expect((await evict('web-1')).status).toBe(201);
  });

  it('answers 500 with no reason when two PDBs select the pod (step 7a)', async () => {
    fake.upsert(webPod('web-1'));
    fake.upsert(webPdb());
    fake.upsert(pdbObject('shop', 'all-pdb', { selector: {} }));
    const reply = await evict('web-1');
    expect(reply.status).toBe(500);
    expect(reply.body).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      code: 500,
      message: 'This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.',
    });
  });

  it('evicts an unready pod without using the budget when the PDB is healthy (step 8)', async () => {
    fake.upsert(webPod('web-1', { ready: false }));
    fake.upsert(webPdb({ disruptionsAllowed: 0, currentHealthy: 2, desiredHealthy: 2 }));
    expect((await evict('web-1')).status).toBe(201);
    expect(fake.read('PodDisruptionBudget', 'shop', 'web-pdb')?.status).toMatchObject({ disruptionsAllowed: 0 });
  });

  it('answers 429 with Retry-After 10 while the PDB status is stale (step 9a)', async () => {
    fake.upsert(webPod('web-1'));
    fake.upsert(webPdb({ generation: 2, observedGeneration: 1 }));
    const reply = await evict('web-1');
    expect(reply.status).toBe(429);
    expect(reply.headers['retry-after']).toBe('10');
    expect(reply.body).toMatchObject({
      reason: 'TooManyRequests',
      message: "Cannot evict pod as it would violate the pod's disruption budget.",
      details: { retryAfterSeconds: 10, causes: [{ type: 'DisruptionBudget', message: 'The disruption budget web-pdb is still being processed by the server.' }] },
    });
  });

  it('answers 403 for a negative budget (step 9b)', async () => {
    fake.upsert(webPod('web-1'));
    fake.upsert(webPdb({ disruptionsAllowed: -1 }));
    expect(await evict('web-1')).toMatchObject({
      status: 403,
      body: { reason: 'Forbidden', message: 'poddisruptionbudget.policy "web-pdb" is forbidden: pdb disruptions allowed is negative' },
    });
  });

  it('answers 429 with the 1.33 DisruptionBudget cause when the budget is spent, without Retry-After (step 9d)', async () => {
    fake.upsert(webPod('web-1'));
    fake.upsert(webPdb({ disruptionsAllowed: 0, currentHealthy: 3, desiredHealthy: 3 }));
    const reply = await evict('web-1');
    expect(reply.status).toBe(429);
    expect(reply.headers['retry-after']).toBeUndefined();
    expect(reply.body.details).toEqual({ causes: [{ type: 'DisruptionBudget', message: 'The disruption budget web-pdb needs 3 healthy pods and has 3 currently' }] });
    expect(fake.read('Pod', 'shop', 'web-1')).toBeDefined();
  });

  it('decrements the budget and records the pod in disruptedPods, so the next eviction gets 429 (step 9e)', async () => {
    fake.upsert(webPod('web-1'));
    fake.upsert(webPod('web-2'));
    fake.upsert(webPdb({ disruptionsAllowed: 1 }));
    expect((await evict('web-1')).status).toBe(201);
    const status = fake.read('PodDisruptionBudget', 'shop', 'web-pdb')?.status as any;
    expect(status.disruptionsAllowed).toBe(0);
    expect(Object.keys(status.disruptedPods)).toEqual(['web-1']);
    expect(status.conditions).toContainEqual(expect.objectContaining({ type: 'DisruptionAllowed', status: 'False', reason: 'InsufficientPods' }));
    expect((await evict('web-2')).status).toBe(429);
  });

  it('checks the budget on a dry run but writes nothing and deletes nothing', async () => {
    fake.upsert(webPod('web-1'));
    fake.upsert(webPdb({ disruptionsAllowed: 1 }));
    expect((await evict('web-1', eviction('web-1', { deleteOptions: { dryRun: ['All'] } }))).status).toBe(201);
    expect(fake.read('Pod', 'shop', 'web-1')).toBeDefined();
    expect(fake.read('PodDisruptionBudget', 'shop', 'web-pdb')?.status).toMatchObject({ disruptionsAllowed: 1 });
    expect(fake.evictions.answered.at(-1)).toMatchObject({ dryRun: true });
  });

  it('answers 409 when the pod no longer meets a client precondition', async () => {
    fake.upsert(webPod('web-1'));
    const reply = await evict('web-1', eviction('web-1', { deleteOptions: { preconditions: { uid: 'not-the-uid' } } }));
    expect(reply).toMatchObject({ status: 409, body: { reason: 'Conflict', message: expect.stringContaining('the UID in the precondition (not-the-uid) does not match') } });
  });

  it('keeps an evicted pod terminating for terminationMs, then removes it', async () => {
    fake.evictions.terminationMs = 100;
    fake.upsert(webPod('web-1'));
    expect((await evict('web-1')).status).toBe(201);
    expect(fake.read('Pod', 'shop', 'web-1')?.metadata).toMatchObject({ deletionTimestamp: expect.any(String), deletionGracePeriodSeconds: 30 });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(fake.read('Pod', 'shop', 'web-1')).toBeUndefined();
    const [terminating, gone] = fake.evictions.deletions;
    expect([terminating, gone]).toEqual([expect.objectContaining({ name: 'web-1', state: 'terminating' }), expect.objectContaining({ name: 'web-1', state: 'gone' })]);
    expect(gone.at - terminating.at).toBeGreaterThanOrEqual(90);
  });

  it('logs a pod removed at once as gone, without a terminating step', async () => {
    fake.upsert(webPod('web-1'));
    expect((await evict('web-1')).status).toBe(201);
    expect(fake.evictions.deletions).toEqual([{ namespace: 'shop', name: 'web-1', state: 'gone', at: expect.any(Number) }]);
  });
});

/** A webhook server for the fake to call: answers with `answer(review)` after `delayMs`. */
class TestWebhook {
  readonly reviews: any[] = [];
  delayMs = 0;
  answer: (review: any) => unknown = (review) => ({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: review.request.uid, allowed: true } });
  private server?: https.Server;

  /** `tls`: share another webhook's serving pair, as the replicas of one Service do. */
  constructor(readonly tls = makeTestCertificate({ dnsNames: ['guard.hooks.svc'] })) {}

  async start(): Promise<number> {
    this.server = https.createServer({ cert: this.tls.cert, key: this.tls.key }, (request, response) => {
      let text = '';
      request.on('data', (chunk) => (text += chunk));
      request.on('end', () => {
        const review = JSON.parse(text);
        this.reviews.push({ ...review, path: request.url });
        setTimeout(() => {
          if (response.destroyed) return;
          response.writeHead(200, { 'content-type': 'application/json' });
          response.end(JSON.stringify(this.answer(review)));
        }, this.delayMs);
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return (this.server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }
}

function configuration(port: number, hook: Record<string, unknown> = {}, caBundle?: string): KubeObject {
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingWebhookConfiguration',
    metadata: { name: 'guard' },
    webhooks: [
      {
        name: 'evictions.guard.example.com',
        admissionReviewVersions: ['v1'],
        sideEffects: 'None',
        rules: [{ apiGroups: [''], apiVersions: ['v1'], resources: ['pods/eviction'], operations: ['CREATE'], scope: 'Namespaced' }],
        clientConfig: { url: `https://127.0.0.1:${port}/validate`, ...(caBundle === undefined ? {} : { caBundle }) },
        ...hook,
      },
    ],
  };
}

const deny = (status: Record<string, unknown>) => (review: any) => ({
  apiVersion: 'admission.k8s.io/v1',
  kind: 'AdmissionReview',
  response: { uid: review.request.uid, allowed: false, status, warnings: ['think twice'] },
});

describe('FakeApiServer pods/eviction: validating webhooks (step 4)', () => {
  let webhook: TestWebhook;
  let port: number;
  let caBundle: string;
  beforeEach(async () => {
    webhook = new TestWebhook();
    port = await webhook.start();
    caBundle = Buffer.from(webhook.tls.cert).toString('base64');
    fake.upsert(webPod('web-1'));
  });
  afterEach(() => webhook.close());

  it('sends the AdmissionReview v1 the API server builds from the Eviction, over TLS trusting only the caBundle', async () => {
    fake.upsert(configuration(port, { timeoutSeconds: 7 }, caBundle));
    expect((await evict('web-1', { apiVersion: 'policy/v1beta1', kind: 'Eviction', metadata: { name: 'web-1' }, deleteOptions: { gracePeriodSeconds: 30 } })).status).toBe(201);
    const [review] = webhook.reviews;
    expect(review.path).toBe('/validate?timeout=7s');
    expect(review).toMatchObject({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      request: {
        uid: expect.any(String),
        kind: { group: 'policy', version: 'v1', kind: 'Eviction' },
        resource: { group: '', version: 'v1', resource: 'pods' },
        subResource: 'eviction',
        requestKind: { group: 'policy', version: 'v1', kind: 'Eviction' },
        requestSubResource: 'eviction',
        name: 'web-1',
        namespace: 'shop',
        operation: 'CREATE',
        userInfo: { username: 'kubernetes-admin', groups: ['kubeadm:cluster-admins', 'system:authenticated'] },
        // Converted to policy/v1, namespace filled in from the URL.
        object: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: 'web-1', namespace: 'shop' }, deleteOptions: { gracePeriodSeconds: 30 } },
        oldObject: null,
        dryRun: false,
        options: { apiVersion: 'meta.k8s.io/v1', kind: 'CreateOptions' },
      },
    });
  });

  it('wraps a denial as ToStatusErr does, keeps its code, reason and details, and sends its warnings as headers', async () => {
    fake.upsert(configuration(port, {}, caBundle));
    webhook.answer = deny({ code: 429, reason: 'TooManyRequests', message: 'not now', details: { causes: [{ type: 'DisruptionBudget', message: 'budget' }] } });
    const reply = await evict('web-1');
    expect(reply.status).toBe(429);
    expect(reply.headers.warning).toBe('299 - "think twice"');
    expect(reply.body).toMatchObject({
      code: 429,
      reason: 'TooManyRequests',
      message: 'pods "web-1" is forbidden: admission webhook "evictions.guard.example.com" denied the request: not now',
      details: { causes: [{ type: 'DisruptionBudget', message: 'budget' }] },
    });
    expect(fake.read('Pod', 'shop', 'web-1')).toBeDefined();
  });

  it.each([
    [{}, 403, 'Forbidden', 'pods "web-1" is forbidden: admission webhook "evictions.guard.example.com" denied the request without explanation', { group: '', kind: 'pods', name: 'web-1' }],
    [{ reason: 'Protected' }, 403, 'Protected', 'pods "web-1" is forbidden: admission webhook "evictions.guard.example.com" denied the request: Protected', undefined],
    [
      { code: 500, message: 'two PDBs' },
      500,
      'InternalError',
      'Internal error occurred: admission webhook "evictions.guard.example.com" denied the request: two PDBs',
      { causes: [{ message: 'admission webhook "evictions.guard.example.com" denied the request: two PDBs' }] },
    ],
  ])('fills in what a denial %j leaves out', async (status, code, reason, message, details) => {
    fake.upsert(configuration(port, {}, caBundle));
    webhook.answer = deny(status);
    const reply = await evict('web-1');
    expect(reply.status).toBe(code);
    expect(reply.body).toMatchObject({ code, reason, message });
    if (details !== undefined) expect(reply.body.details).toEqual(details);
  });

  it.each([
    ['a certificate the caBundle does not trust', () => configuration(port, {}, Buffer.from(makeTestCertificate().cert).toString('base64')), 'tls: failed to verify certificate: x509: certificate signed by unknown authority'],
    ['no answer within timeoutSeconds', () => ((webhook.delayMs = 3000), configuration(port, { timeoutSeconds: 1 }, caBundle)), 'context deadline exceeded'],
    [
      'a response with another uid',
      () => ((webhook.answer = () => ({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: 'other', allowed: true } })), configuration(port, {}, caBundle)),
      'expected response.uid=',
    ],
  ])('fails closed on %s under failurePolicy Fail (the default), and lets it through under Ignore', async (_, configure, error) => {
    const hook = configure();
    fake.upsert(hook);
    const closed = await evict('web-1');
    expect(closed.status).toBe(500);
    expect(closed.body).toMatchObject({ reason: 'InternalError', message: expect.stringMatching(/^Internal error occurred: failed calling webhook "evictions.guard.example.com": /) });
    expect(closed.body.message).toContain(error);
    expect(fake.read('Pod', 'shop', 'web-1')).toBeDefined();

    (hook.webhooks as any[])[0].failurePolicy = 'Ignore';
    fake.upsert(hook);
    expect((await evict('web-1')).status).toBe(201);
  });

  it('calls only webhooks whose rules and namespaceSelector match; objectSelector sees the label-less Eviction', async () => {
    fake.upsert(namespaceObject('shop', { team: 'web' }));
    const skipped = [
      { rules: [{ apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], operations: ['CREATE'] }] },
      { namespaceSelector: { matchLabels: { team: 'db' } } },
      { objectSelector: { matchLabels: { app: 'web' } } },
    ];
    for (const [index, hook] of skipped.entries()) fake.upsert({ ...configuration(port, hook, caBundle), metadata: { name: `skipped-${index}` } });
    expect((await evict('web-1')).status).toBe(201);
    expect(webhook.reviews).toHaveLength(0);
  });

  it('rejects a dry run for a webhook with side effects, before calling it', async () => {
    fake.upsert(configuration(port, { sideEffects: 'Some' }, caBundle));
    const reply = await evict('web-1', eviction('web-1'), '?dryRun=All');
    expect(reply).toMatchObject({ status: 400, body: { message: 'admission webhook "evictions.guard.example.com" does not support dry run' } });
    expect(webhook.reviews).toHaveLength(0);
  });

  it('calls a service through serviceEndpoints, verifying the certificate for <name>.<namespace>.svc', async () => {
    const hook = configuration(port, {}, caBundle);
    (hook.webhooks as any[])[0].clientConfig = { service: { namespace: 'hooks', name: 'guard', path: '/validate' }, caBundle };
    fake.upsert(hook);
    fake.admission.serviceEndpoints.set('hooks/guard', [{ host: '127.0.0.1', port }]);
    expect((await evict('web-1')).status).toBe(201);
    expect(fake.admission.calls).toEqual([expect.objectContaining({ url: 'https://guard.hooks.svc:443/validate?timeout=10s', endpoint: `127.0.0.1:${port}`, outcome: 'allowed' })]);
  });

  it("spreads a service's calls over its endpoints in turn, as kube-proxy spreads connections", async () => {
    const second = new TestWebhook(webhook.tls);
    const secondPort = await second.start();
    try {
      const hook = configuration(port, {}, caBundle);
      (hook.webhooks as any[])[0].clientConfig = { service: { namespace: 'hooks', name: 'guard', path: '/validate' }, caBundle };
      fake.upsert(hook);
      fake.admission.serviceEndpoints.set('hooks/guard', [
        { host: '127.0.0.1', port },
        { host: '127.0.0.1', port: secondPort },
      ]);
      for (const name of ['web-2', 'web-3', 'web-4']) fake.upsert(webPod(name));
      await Promise.all(['web-1', 'web-2', 'web-3', 'web-4'].map((name) => evict(name, eviction(name), '?dryRun=All')));
      expect([webhook.reviews.length, second.reviews.length]).toEqual([2, 2]);
      expect(fake.admission.calls.map((each) => each.endpoint).sort()).toEqual([`127.0.0.1:${port}`, `127.0.0.1:${port}`, `127.0.0.1:${secondPort}`, `127.0.0.1:${secondPort}`].sort());
    } finally {
      await second.close();
    }
  });
});

describe('FakeApiServer: what kubectl needs besides evictions', () => {
  it('lists pods/eviction in core v1 discovery with group policy and version v1, and every served group', async () => {
    const core = await call('GET', '/api/v1');
    expect(core.body.resources).toContainEqual({ name: 'pods/eviction', singularName: '', namespaced: true, group: 'policy', version: 'v1', kind: 'Eviction', verbs: ['create'] });
    expect(core.body.resources.map((resource: any) => resource.name)).toEqual(expect.arrayContaining(['pods', 'nodes', 'namespaces', 'events']));
    const groups = (await call('GET', '/apis')).body.groups.map((group: any) => group.preferredVersion.groupVersion);
    expect(groups).toEqual(expect.arrayContaining(['apps/v1', 'policy/v1', 'admissionregistration.k8s.io/v1', 'evictionguard.io/v1alpha1']));
    expect((await call('GET', '/apis/apps/v1')).body.resources.map((resource: any) => resource.name)).toContain('daemonsets');
    expect((await call('GET', '/api')).body).toMatchObject({ kind: 'APIVersions', versions: ['v1'] });
  });

  it('lists pods by spec.nodeName, and rejects a field selector it cannot parse', async () => {
    fake.upsert(webPod('web-1', { nodeName: 'node-1' }));
    fake.upsert(webPod('web-2', { nodeName: 'node-2' }));
    const onNode = await call('GET', '/api/v1/pods?fieldSelector=spec.nodeName%3Dnode-1');
    expect(onNode.body.items.map((pod: any) => pod.metadata.name)).toEqual(['web-1']);
    const elsewhere = await call('GET', '/api/v1/pods?fieldSelector=spec.nodeName!%3Dnode-1');
    expect(elsewhere.body.items.map((pod: any) => pod.metadata.name)).toEqual(['web-2']);
    expect((await call('GET', '/api/v1/pods?fieldSelector=spec.nodeName')).status).toBe(400);
  });

  it('lists by label selector in kubectl syntax (kubectl drain --pod-selector), with the field selector', async () => {
    fake.upsert(webPod('web-1', { nodeName: 'node-1' }));
    fake.upsert(podObject('shop', 'db-1', { labels: { app: 'db', tier: 'data' }, nodeName: 'node-1' }));
    fake.upsert(podObject('shop', 'cache-1', { labels: { app: 'cache' }, nodeName: 'node-2' }));
    const names = async (query: string) => (await call('GET', `/api/v1/pods?${query}`)).body.items.map((pod: any) => pod.metadata.name);
    expect(await names('labelSelector=app%3Dweb')).toEqual(['web-1']);
    expect(await names('labelSelector=app%20in%20(web%2Cdb)&fieldSelector=spec.nodeName%3Dnode-1')).toEqual(['db-1', 'web-1']);
    expect(await names('labelSelector=tier')).toEqual(['db-1']);
    expect(await names('labelSelector=!tier%2Capp!%3Dweb')).toEqual(['cache-1']);
    expect((await call('GET', '/api/v1/pods?labelSelector=app%20%3D%3D%3D%20x%20y')).status).toBe(400);
  });

  it('cordons a node with a strategic merge patch, and a dry run stores nothing', async () => {
    fake.upsert({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-1' }, spec: {} });
    const patch = { spec: { unschedulable: true } };
    const headers = { 'content-type': 'application/strategic-merge-patch+json' };
    const dryRun = await call('PATCH', '/api/v1/nodes/node-1?dryRun=All', patch, headers);
    expect(dryRun.body.spec).toEqual({ unschedulable: true });
    expect(fake.read('Node', '', 'node-1')?.spec).toEqual({});
    const reply = await call('PATCH', '/api/v1/nodes/node-1', patch, headers);
    expect(reply).toMatchObject({ status: 200, body: { kind: 'Node', metadata: { name: 'node-1' }, spec: { unschedulable: true } } });
    expect(fake.read('Node', '', 'node-1')?.spec).toEqual({ unschedulable: true });
    expect((await call('PATCH', '/api/v1/nodes/node-1', patch, { 'content-type': 'application/json' })).status).toBe(415);
    expect((await call('PATCH', '/api/v1/nodes/nope', patch, headers)).status).toBe(404);
  });
});

/** Pod watch events after `since`, until `count` arrived. */
function watchPods(since: string, count: number): Promise<any[]> {
  return new Promise((resolve, reject) => {
    const events: any[] = [];
    const request = https.get(
      new URL(`/api/v1/namespaces/shop/pods?watch=true&resourceVersion=${since}`, fake.url),
      { ca: fake.ca, headers: { authorization: `Bearer ${fake.token}` }, agent: false },
      (response) => {
        const lines = createInterface(response);
        lines.on('error', () => {});
        lines.on('line', (line) => {
          events.push(JSON.parse(line));
          if (events.length === count) {
            request.destroy();
            resolve(events);
          }
        });
      },
    );
    request.on('error', reject);
  });
}
