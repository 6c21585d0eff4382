// `check` and `lint` against a cluster: a fake API server speaking the real list/watch protocol over HTTPS.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createLogger } from '../../src/audit/logger';
import { parseCheckOptions, runDrainCheck } from '../../src/cli/check';
import { runLint } from '../../src/cli/lint';
import { resolveKubeConfig } from '../../src/cluster/kubeconfig';
import { RESERVATION_ASSUMPTION } from '../../src/drain/preflight';
import { LeaseReservationStore } from '../../src/reservation/lease-store';
import type { ScopeRef } from '../../src/reservation/record';
import { FakeApiServer } from '../fake-apiserver';
import { captureStdout } from '../helpers/golden';
import { evictionPolicyObject, pdbObject, podObject, workloadObject } from '../helpers/objects';

let dir: string;
let fake: FakeApiServer;
const logger = createLogger('silent');

beforeEach(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'e2e-check-'));
  fake = await FakeApiServer.start();
  for (const name of ['web-1', 'web-2']) fake.upsert(podObject('shop', name, { labels: { app: 'web' }, owner: { kind: 'ReplicaSet', name: 'web-rs' }, nodeName: 'node-a' }));
  fake.upsert(podObject('shop', 'web-3', { labels: { app: 'web' }, owner: { kind: 'ReplicaSet', name: 'web-rs' }, nodeName: 'node-b' }));
  fake.upsert(podObject('shop', 'solo', { labels: { app: 'solo' }, nodeName: 'node-a' }));
  fake.upsert(pdbObject('shop', 'web-pdb', { selector: { matchLabels: { app: 'web' } }, minAvailable: 3, disruptionsAllowed: 0 }));
});

afterEach(async () => {
  await fake.close();
  rmSync(dir, { recursive: true, force: true });
});

function options(...argv: string[]) {
  const parsed = parseCheckOptions(['--kubeconfig', fake.writeKubeconfig(dir), ...argv]);
  if (parsed === 'help') throw new Error('unexpected help');
  return parsed;
}

describe('eviction-guard check against a cluster', () => {
  it('lists the node, applies the filters and confirms every denial with a live read', async () => {
    const report = await runDrainCheck(options('--node', 'node-a'), logger);
    expect(report.pods.map((pod) => [pod.name, pod.result, pod.decidedBy])).toEqual([
      ['solo', 'refuse', 'drain/unreplicated'],
      ['web-1', 'block', 'pdb/budget'],
      ['web-2', 'block', 'pdb/budget'],
    ]);
    expect(report.completes).toBe(false);
    const reads = fake.requests.filter((request) => !request.watch).map((request) => request.path);
    expect(reads).toEqual(expect.arrayContaining(['/api/v1/namespaces/shop/pods/web-1', '/api/v1/namespaces/shop/pods/web-2']));
  });

  it('sees the cluster as it is now: a PDB that allows a disruption lets the drain through', async () => {
    fake.upsert(pdbObject('shop', 'web-pdb', { selector: { matchLabels: { app: 'web' } }, minAvailable: 1, currentHealthy: 3, desiredHealthy: 1, expectedPods: 3, disruptionsAllowed: 2 }));
    const report = await runDrainCheck(options('--node', 'node-a', '--force'), logger);
    expect(report.pods.map((pod) => pod.result)).toEqual(['evict', 'evict', 'evict']);
    expect(report.completes).toBe(true);
  });

  describe("with the webhook's reservations", () => {
    const owner: ScopeRef = { scope: 'owner', key: 'shop/ReplicaSet/web-rs' };

    beforeEach(async () => {
      // Only the policy limits evictions: the budget allows all three.
      fake.upsert(pdbObject('shop', 'web-pdb', { selector: { matchLabels: { app: 'web' } }, maxUnavailable: 3, currentHealthy: 3, desiredHealthy: 0, expectedPods: 3, disruptionsAllowed: 3 }));
      fake.upsert(workloadObject('ReplicaSet', 'shop', 'web-rs', 3));
      fake.upsert(evictionPolicyObject('one-web-pod-at-a-time', { match: { podSelector: { matchLabels: { app: 'web' } } }, rules: [{ maxDisruptions: { per: 'owner', count: 1 } }] }));
    });

    /** What a webhook replica writes when it allows the eviction of web-3 (on node-b, outside the drain of node-a). */
    async function reserveWeb3(): Promise<void> {
      const kubeConfig = resolveKubeConfig(fake.writeKubeconfig(dir))!;
      const store = new LeaseReservationStore({ kubeConfig, namespace: 'eviction-guard', holder: 'eviction-guard-7d9c-abcde', ttlMs: 120_000, logger });
      try {
        const now = Date.now();
        const uid = String(fake.read('Pod', 'shop', 'web-3')!.metadata.uid);
        const written = await store.write({ scope: owner, entries: [] }, [{ namespace: 'shop', name: 'web-3', uid, reservedAt: now, expiresAt: now + 120_000, by: 'eviction-guard-7d9c-abcde' }], now + 2000);
        expect(written).not.toBe('conflict');
      } finally {
        store.close();
      }
    }

    it('counts a reserved eviction as in disruption: under maxDisruptions count 1 the pods wait for it instead of going at once, and nothing is written', async () => {
      const unreserved = await runDrainCheck(options('--node', 'node-a', '--force'), logger);
      expect(unreserved.pods.filter((pod) => pod.name.startsWith('web-')).map((pod) => [pod.name, pod.result])).toEqual([
        ['web-1', 'evict'],
        ['web-2', 'wait'],
      ]);

      await reserveWeb3();
      const leaseCalls = fake.leases.calls.length;
      const report = await runDrainCheck(options('--node', 'node-a', '--force'), logger);
      expect(report.pods.filter((pod) => pod.name.startsWith('web-')).map((pod) => [pod.name, pod.result, pod.code, pod.waitsFor])).toEqual([
        ['web-1', 'wait', 429, ['shop/web-3']],
        ['web-2', 'wait', 429, ['shop/web-3', 'shop/web-1']],
      ]);
      expect(report.pods.find((pod) => pod.name === 'web-1')?.message).toBe(
        '1 pod of ReplicaSet shop/web-rs is already in disruption (reserved: web-3); the limit is 1.',
      );
      expect(report.notes).toContain(
        '1 eviction the webhook allowed is not seen terminating yet and counts as in disruption (reservations in Leases in namespace eviction-guard): shop/web-3.',
      );
      expect(report.assumptions).toContain(RESERVATION_ASSUMPTION);
      expect(report.completes).toBe(true);
      // Read only: one list of the Leases, by the reservation labels.
      expect(fake.leases.calls.slice(leaseCalls).map((call) => `${call.method} ${call.namespace} ${call.status}`)).toEqual(['GET eviction-guard 200']);
    });

    it('says nothing of a reservation whose pod the cluster already shows terminating: it counts as in disruption anyway', async () => {
      await reserveWeb3();
      fake.upsert(podObject('shop', 'web-3', { labels: { app: 'web' }, owner: { kind: 'ReplicaSet', name: 'web-rs' }, nodeName: 'node-b', deleting: true }));
      const report = await runDrainCheck(options('--node', 'node-a', '--force'), logger);
      expect(report.notes).toEqual([]);
      expect(report.assumptions).not.toContain(RESERVATION_ASSUMPTION);
      expect(report.pods.find((pod) => pod.name === 'web-1')?.message).toBe('1 pod of ReplicaSet shop/web-rs is already in disruption (web-3); the limit is 1.');
    });

    it('reads them from --reservation-namespace: elsewhere there are none', async () => {
      await reserveWeb3();
      const report = await runDrainCheck(options('--node', 'node-a', '--force', '--reservation-namespace', 'ops'), logger);
      expect(report.pods.find((pod) => pod.name === 'web-1')?.result).toBe('evict');
      expect(fake.leases.calls.at(-1)).toMatchObject({ method: 'GET', namespace: 'ops' });
    });

    it('plans without them when they cannot be read, and says so', async () => {
      await reserveWeb3();
      fake.leases.failing = true;
      const report = await runDrainCheck(options('--node', 'node-a', '--force'), logger);
      expect(report.pods.find((pod) => pod.name === 'web-1')?.result).toBe('evict');
      expect(report.notes).toEqual([
        expect.stringMatching(
          /^Reservations could not be read \(Leases in namespace eviction-guard: GET \/apis\/coordination\.k8s\.io\/v1\/namespaces\/eviction-guard\/leases\?labelSelector=\S+: HTTP 500 InternalError.*\): evictions the webhook allowed a moment ago are not counted, so a pod planned EVICT may get 429\.$/,
        ),
      ]);
    });
  });

  it('gives up with a clear error when the API server cannot be listed in time', async () => {
    fake.setDown(true);
    await expect(runDrainCheck(options('--node', 'node-a', '--timeout', '1'), logger)).rejects.toThrow(/could not be read within 1s: not listed yet: pods/);
  });
});

describe('eviction-guard lint against a cluster', () => {
  it('reads the live PDBs and pods', async () => {
    fake.upsert(pdbObject('shop', 'web-all-pdb', { selector: {}, minAvailable: 1, disruptionsAllowed: 1 }));
    const { exitCode, stdout } = await captureStdout(() => runLint(['--kubeconfig', fake.writeKubeconfig(dir), '-o', 'json']));
    const report = JSON.parse(stdout) as { source: string; findings: { check: string; name: string }[] };
    expect(report.source).toBe('the cluster');
    expect(report.findings.map((finding) => `${finding.check} ${finding.name}`)).toEqual(
      expect.arrayContaining(['lint/overlapping-pdbs web-all-pdb', 'lint/never-allows web-pdb']),
    );
    expect(exitCode).toBe(3);
  });
});
