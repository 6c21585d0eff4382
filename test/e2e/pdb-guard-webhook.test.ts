// The PDB admission guard end to end: PodDisruptionBudget reviews over real HTTPS to startWebhook,
// which watches a fake API server holding the pods and the PDB already there.
import type { PdbGuardMode } from '../../src/guard/pdb-guard';
import { pdbCreateReview } from '../admission/reviews';
import { makeTestCertificate } from '../helpers/tls';
import { useServingPairDir, useWebShopCluster, waitFor, type AdmissionAnswer } from './harness';
import { postJson } from '../server/https-client';

const tls = makeTestCertificate();
const servingDir = useServingPairDir('e2e-pdb-guard-', tls);
const cluster = useWebShopCluster(servingDir);

const startGuard = (pdbGuard?: PdbGuardMode) => cluster.start(pdbGuard ? { pdbGuard } : {});

async function review(spec: Record<string, unknown>, name: string): Promise<AdmissionAnswer> {
  const reply = await postJson(cluster.webhook.port, tls.cert, pdbCreateReview(spec, name));
  expect(reply.status).toBe(200);
  return JSON.parse(reply.text) as AdmissionAnswer;
}

const overlapping = { minAvailable: 1, selector: { matchExpressions: [{ key: 'app', operator: 'In', values: ['web', 'api'] }] } };

describe('PDB admission guard over HTTPS', () => {
  it('warns by default on a PDB that overlaps an existing one on live pods, naming it', async () => {
    await startGuard();
    const answer = await review(overlapping, 'web-ha-pdb');
    expect(answer.response.allowed).toBe(true);
    expect(answer.response.warnings).toEqual(['PDB shop/web-ha-pdb overlaps shop/web-pdb on 2 pod(s); evicting them will fail (500)']);
  });

  it('denies it with --pdb-guard=deny', async () => {
    await startGuard('deny');
    const answer = await review(overlapping, 'web-ha-pdb');
    expect(answer.response.allowed).toBe(false);
    expect(answer.response.status).toMatchObject({ code: 403, reason: 'Forbidden' });
    expect(answer.response.status?.message).toContain('shop/web-pdb');
  });

  it('follows the cluster: once the first PDB is deleted there is nothing to overlap', async () => {
    await startGuard('deny');
    expect((await review(overlapping, 'web-ha-pdb')).response.allowed).toBe(false);
    expect(cluster.fake.remove('PodDisruptionBudget', 'shop', 'web-pdb')).toBe(true);
    await waitFor('the deletion to reach the guard', async () => (await review(overlapping, 'web-ha-pdb')).response.allowed);
  });

  it('warns about a PDB that can never allow a disruption', async () => {
    await startGuard();
    const answer = await review({ maxUnavailable: 0, selector: { matchLabels: { app: 'db' } } }, 'db-pdb');
    expect(answer.response).toMatchObject({ allowed: true, warnings: ['PDB shop/db-pdb (maxUnavailable=0) can never allow a disruption; drains of its pods will hang'] });
  });

  it('allows without a look with --pdb-guard=off', async () => {
    await startGuard('off');
    const answer = await review(overlapping, 'web-ha-pdb');
    expect(answer.response.allowed).toBe(true);
    expect(answer.response.warnings ?? []).toEqual([]);
  });
});
