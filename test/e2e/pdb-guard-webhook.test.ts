// The PDB admission guard end to end: PodDisruptionBudget reviews over real HTTPS to startWebhook,
// which watches a fake API server holding the pods and the PDB already there.
import { createLogger } from '../../src/audit/logger';
import { startWebhook, type RunningWebhook } from '../../src/cli/serve';
import type { PdbGuardMode } from '../../src/guard/pdb-guard';
import { FakeApiServer } from '../fake-apiserver';
import { pdbCreateReview } from '../admission/reviews';
import { pdbObject, podObject } from '../helpers/objects';
import { makeTestCertificate } from '../helpers/tls';
import { liveServeOptions, useServingPairDir, waitFor, type AdmissionAnswer } from './harness';
import { postJson } from '../server/https-client';

const tls = makeTestCertificate();
const servingDir = useServingPairDir('e2e-pdb-guard-', tls);
let fake: FakeApiServer;
let webhook: RunningWebhook | undefined;

beforeEach(async () => {
  fake = await FakeApiServer.start();
  for (const name of ['web-1', 'web-2']) fake.upsert(podObject('shop', name, { labels: { app: 'web' }, owner: { kind: 'ReplicaSet', name: 'web-rs' } }));
  fake.upsert(pdbObject('shop', 'web-pdb', { selector: { matchLabels: { app: 'web' } }, minAvailable: 1, disruptionsAllowed: 1 }));
});

afterEach(async () => {
  await webhook?.close();
  webhook = undefined;
  await fake.close();
});

async function startGuard(pdbGuard?: PdbGuardMode): Promise<RunningWebhook> {
  const running = await startWebhook(liveServeOptions(servingDir.path, fake, pdbGuard ? { pdbGuard } : {}), createLogger('silent'));
  await waitFor('the cluster to be listed', () => running.cluster.isSynced());
  return running;
}

async function review(spec: Record<string, unknown>, name: string): Promise<AdmissionAnswer> {
  const reply = await postJson(webhook!.port, tls.cert, pdbCreateReview(spec, name));
  expect(reply.status).toBe(200);
  return JSON.parse(reply.text) as AdmissionAnswer;
}

const overlapping = { minAvailable: 1, selector: { matchExpressions: [{ key: 'app', operator: 'In', values: ['web', 'api'] }] } };

describe('PDB admission guard over HTTPS', () => {
  it('warns by default on a PDB that overlaps an existing one on live pods, naming it', async () => {
    webhook = await startGuard();
    const answer = await review(overlapping, 'web-ha-pdb');
    expect(answer.response.allowed).toBe(true);
    expect(answer.response.warnings).toEqual(['PDB shop/web-ha-pdb overlaps shop/web-pdb on 2 pod(s); evicting them will fail (500)']);
  });

  it('denies it with --pdb-guard=deny', async () => {
    webhook = await startGuard('deny');
    const answer = await review(overlapping, 'web-ha-pdb');
    expect(answer.response.allowed).toBe(false);
    expect(answer.response.status).toMatchObject({ code: 403, reason: 'Forbidden' });
    expect(answer.response.status?.message).toContain('shop/web-pdb');
  });

  it('follows the cluster: once the first PDB is deleted there is nothing to overlap', async () => {
    webhook = await startGuard('deny');
    expect((await review(overlapping, 'web-ha-pdb')).response.allowed).toBe(false);
    expect(fake.remove('PodDisruptionBudget', 'shop', 'web-pdb')).toBe(true);
    await waitFor('the deletion to reach the guard', async () => (await review(overlapping, 'web-ha-pdb')).response.allowed);
  });

  it('warns about a PDB that can never allow a disruption', async () => {
    webhook = await startGuard();
    const answer = await review({ maxUnavailable: 0, selector: { matchLabels: { app: 'db' } } }, 'db-pdb');
    expect(answer.response).toMatchObject({ allowed: true, warnings: ['PDB shop/db-pdb (maxUnavailable=0) can never allow a disruption; drains of its pods will hang'] });
  });

  it('allows without a look with --pdb-guard=off', async () => {
    webhook = await startGuard('off');
    const answer = await review(overlapping, 'web-ha-pdb');
    expect(answer.response.allowed).toBe(true);
    expect(answer.response.warnings ?? []).toEqual([]);
  });
});
