// A CEL policy on what the index keeps since issue #11, end to end: pod annotations
// (karpenter.sh/do-not-disrupt) and the pod's Node (spec.unschedulable), watched from a fake API
// server, decided by the webhook over HTTPS and by `eviction-guard check`.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createLogger } from '../../src/audit/logger';
import { parseCheckOptions, runDrainCheck } from '../../src/cli/check';
import { startWebhook, type RunningWebhook } from '../../src/cli/serve';
import { evictionReview } from '../admission/reviews';
import { FakeApiServer } from '../fake-apiserver';
import { evictionPolicyObject, namespaceObject, nodeObject, pdbObject, podObject, workloadObject } from '../helpers/objects';
import { makeTestCertificate } from '../helpers/tls';
import { postJson } from '../server/https-client';
import { liveServeOptions, useServingPairDir, waitFor, type AdmissionAnswer } from './harness';

const POLICY = 'do-not-disrupt-unless-cordoned';
/** A pod that asks not to be disrupted goes only from a cordoned Node: a deliberate drain, not a consolidation. */
const policySpec = {
  rules: [
    {
      cel: {
        expression: '!("karpenter.sh/do-not-disrupt" in pod.metadata.annotations) || pod.metadata.annotations["karpenter.sh/do-not-disrupt"] != "true" || (node != null && node.spec.unschedulable)',
        messageExpression: '"pod " + pod.metadata.name + " has karpenter.sh/do-not-disrupt=true and its node " + node.metadata.name + " is not cordoned"',
      },
    },
  ],
};

const tls = makeTestCertificate();
const servingDir = useServingPairDir('e2e-cel-', tls);
const logger = createLogger('silent');
let fake: FakeApiServer;
let dir: string;

const webPod = (name: string, annotations?: Record<string, string>) =>
  podObject('shop', name, { labels: { app: 'web' }, owner: { kind: 'ReplicaSet', name: 'web-rs' }, nodeName: 'node-a', annotations });

beforeEach(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'e2e-cel-'));
  fake = await FakeApiServer.start();
  fake.upsert(namespaceObject('shop'));
  fake.upsert(nodeObject('node-a'));
  fake.upsert(workloadObject('ReplicaSet', 'shop', 'web-rs', 3));
  fake.upsert(webPod('web-1', { 'karpenter.sh/do-not-disrupt': 'true', 'prometheus.io/scrape': 'true' }));
  fake.upsert(webPod('web-2'));
  fake.upsert(pdbObject('shop', 'web-pdb', { selector: { matchLabels: { app: 'web' } }, maxUnavailable: 3, currentHealthy: 3, desiredHealthy: 0, expectedPods: 3, disruptionsAllowed: 3 }));
});

afterEach(async () => {
  await fake.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('a CEL policy on pod annotations and the pod\'s Node', () => {
  let webhook: RunningWebhook | undefined;
  afterEach(async () => {
    await webhook?.close();
    webhook = undefined;
  });

  async function evict(name: string): Promise<AdmissionAnswer['response']> {
    const body = evictionReview();
    Object.assign(body.request, { uid: `cel-e2e-${name}-${Date.now()}`, name, namespace: 'shop' });
    const reply = await postJson(webhook!.port, tls.cert, body);
    expect(reply.status).toBe(200);
    return (JSON.parse(reply.text) as AdmissionAnswer).response;
  }

  it('decides through the webhook as the watched pod and Node change', async () => {
    fake.upsert(evictionPolicyObject(POLICY, policySpec));
    webhook = await startWebhook(liveServeOptions(servingDir.path, fake), logger);
    await waitFor('the policy denial', async () => (await evict('web-1')).status?.code === 403);
    expect((await evict('web-1')).status?.message.split('\n')).toEqual([
      `eviction-guard denied this eviction (policy/${POLICY}/cel); retrying will not help.`,
      `[policy/${POLICY}/cel] pod web-1 has karpenter.sh/do-not-disrupt=true and its node node-a is not cordoned`,
    ]);
    expect((await evict('web-2')).allowed).toBe(true);

    fake.upsert(nodeObject('node-a', { unschedulable: true }));
    await waitFor('allowed once the node is cordoned', async () => (await evict('web-1')).allowed);

    fake.upsert(nodeObject('node-a'));
    await waitFor('denied again once uncordoned', async () => (await evict('web-1')).status?.code === 403);
    fake.upsert(webPod('web-1', { 'karpenter.sh/do-not-disrupt': 'false' }));
    await waitFor('allowed once the pod no longer asks', async () => (await evict('web-1')).allowed);
  });

  it('decides through `eviction-guard check` with the policy from a file', async () => {
    const file = path.join(dir, 'policy.json');
    writeFileSync(file, JSON.stringify(evictionPolicyObject(POLICY, policySpec)));
    const check = async () => {
      const options = parseCheckOptions(['--kubeconfig', fake.writeKubeconfig(dir), '--node', 'node-a', '--policy', file]);
      if (options === 'help') throw new Error('unexpected help');
      const report = await runDrainCheck(options, logger);
      return report.pods.map((pod) => [pod.name, pod.result, pod.decidedBy ?? '', pod.result === 'evict' ? '' : pod.message]);
    };

    // A 403 fails the drain: kubectl drain gives up on that pod.
    expect(await check()).toEqual([
      ['web-1', 'fail', `policy/${POLICY}/cel`, 'pod web-1 has karpenter.sh/do-not-disrupt=true and its node node-a is not cordoned'],
      ['web-2', 'evict', '', ''],
    ]);
    fake.upsert(nodeObject('node-a', { unschedulable: true }));
    expect((await check()).map(([name, result]) => [name, result])).toEqual([
      ['web-1', 'evict'],
      ['web-2', 'evict'],
    ]);
  });
});
