// `check` and `lint` against a cluster: a fake API server speaking the real list/watch protocol over HTTPS.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createLogger } from '../../src/audit/logger';
import { parseCheckOptions, runDrainCheck } from '../../src/cli/check';
import { runLint } from '../../src/cli/lint';
import { FakeApiServer } from '../fake-apiserver';
import { captureStdout } from '../helpers/golden';
import { pdbObject, podObject } from '../helpers/objects';

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
