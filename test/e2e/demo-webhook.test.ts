// `eviction-guard serve` with the built-in demo cluster: every row of the table in
// demo/cluster.yaml, over real HTTPS, with the audit line each decision writes.
import { Writable } from 'node:stream';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createLogger } from '../../src/audit/logger';
import { startWebhook, type RunningWebhook } from '../../src/cli/serve';
import { demoClusterView } from '../../src/cluster/snapshot';
import { evictionReview } from '../admission/reviews';
import { makeTestCertificate } from '../helpers/tls';
import { postJson } from '../server/https-client';

const tls = makeTestCertificate();
let dir: string;
let webhook: RunningWebhook;
const logLines: Record<string, unknown>[] = [];

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'e2e-demo-'));
  writeFileSync(path.join(dir, 'tls.crt'), tls.cert);
  writeFileSync(path.join(dir, 'tls.key'), tls.key);
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) logLines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  webhook = await startWebhook(
    { port: 0, tlsCert: path.join(dir, 'tls.crt'), tlsKey: path.join(dir, 'tls.key'), logLevel: 'info', certDir: dir },
    createLogger('info', sink),
    demoClusterView(),
  );
});
afterAll(async () => {
  await webhook.close();
  rmSync(dir, { recursive: true, force: true });
});

async function evict(pod: string, user = 'kubernetes-admin') {
  const [namespace, name] = pod.split('/');
  const body = evictionReview();
  Object.assign(body.request, { uid: `demo-${pod}`, name, namespace, userInfo: { username: user, groups: ['system:authenticated'] } });
  const reply = await postJson(webhook.port, tls.cert, body);
  return (JSON.parse(reply.text) as { response: { allowed: boolean; status?: { code: number; message: string } } }).response;
}

describe('the built-in demo cluster (the table in demo/cluster.yaml)', () => {
  it.each([
    ['shop/web-7d9c5b7f6-x2x9k', 429, 'It can never allow a disruption'],
    ['shop/cart-5d8f7b6c4-q7w2e', 500, 'shop/cart-ha-pdb'],
    ['shop/search-7b9d6f5c8-h8m3v', 429, 'needs 2 healthy, has 2'],
    ['analytics/worker-84c6d9f7b5-h2kqn', 429, 'needs 1 healthy, has 1'],
    ['payments/ledger-0', 429, 'observedGeneration 1 < generation 2'],
    ['payments/fraud-model-0', 429, 'SyncFailed'],
  ])('denies %s with %i', async (pod, code, explanation) => {
    const response = await evict(pod);
    expect(response.allowed).toBe(false);
    expect(response.status?.code).toBe(code);
    expect(response.status?.message).toContain(explanation);
  });

  it.each([
    'shop/api-6f4b8c9d7-l5j8n',
    'shop/search-7b9d6f5c8-c4r2x',
    'analytics/worker-84c6d9f7b5-p9xzt',
    'batch/nightly-report-29123456-7xk2p',
    'tools/debug-shell',
    'shop/no-such-pod',
  ])('allows %s', async (pod) => {
    expect((await evict(pod)).allowed).toBe(true);
  });

  it('writes one audit line per decision with who, what, the decision and why', async () => {
    await evict('shop/web-7d9c5b7f6-4m8qz', 'jane@example.com');
    const line = logLines.find((entry) => (entry.audit as { uid?: string } | undefined)?.uid === 'demo-shop/web-7d9c5b7f6-4m8qz');
    expect(line?.msg).toBe('eviction denied');
    expect(line?.audit).toEqual({
      uid: 'demo-shop/web-7d9c5b7f6-4m8qz',
      user: 'jane@example.com',
      groups: ['system:authenticated'],
      pod: 'shop/web-7d9c5b7f6-4m8qz',
      node: expect.any(String),
      dryRun: false,
      allowed: false,
      code: 429,
      checks: [{ id: 'pdb/budget', action: 'deny', message: expect.stringContaining('PDB shop/web-pdb') }],
      pdbs: ['shop/web-pdb'],
      latencyMs: expect.any(Number),
      factSource: 'snapshot',
      confirmedLive: false,
      caller: 'unauthenticated',
    });
  });
});
