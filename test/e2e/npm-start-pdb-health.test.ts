// `npm start` as a new user runs it (the build, then the webhook on the demo cluster), on free ports
// instead of 8443 and 9090: its /metrics counts the demo's overlapping and never-allowing PDBs in
// evictionguard_pdb_findings, and GET /pdb-findings names them.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { PdbHealthReport } from '../../src/lint/pdb-health';
import { makeTestCertificate } from '../helpers/tls';
import { httpsCall } from '../server/https-client';
import { httpGet, samples, waitFor } from './harness';

const REPO = path.resolve(__dirname, '../..');
const tls = makeTestCertificate();
let dir: string;
let npm: ChildProcess | undefined;
const logLines: Record<string, unknown>[] = [];
const output: string[] = [];

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'npm-start-'));
  writeFileSync(path.join(dir, 'tls.crt'), tls.cert);
  writeFileSync(path.join(dir, 'tls.key'), tls.key);
});

afterAll(async () => {
  if (npm?.pid !== undefined && npm.exitCode === null) {
    const exited = new Promise((resolve) => npm!.once('exit', resolve));
    // npm, its shell and the webhook: the process group this test started.
    process.kill(-npm.pid, 'SIGTERM');
    await exited;
  }
  rmSync(dir, { recursive: true, force: true });
});

/** The value of `field` in the first JSON log line that has it. */
function logged(field: string): unknown {
  return logLines.find((line) => line[field] !== undefined)?.[field];
}

describe('npm start on the demo cluster', () => {
  it('exports the PDB findings of the demo in the gauges and on GET /pdb-findings', async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, HOME: dir, KUBECONFIG: path.join(dir, 'no-such-kubeconfig') };
    delete env.KUBERNETES_SERVICE_HOST;
    npm = spawn(
      'npm',
      ['start', '--', '--port', '0', '--metrics-port', '0', '--metrics-address', '127.0.0.1', '--tls-cert', path.join(dir, 'tls.crt'), '--tls-key', path.join(dir, 'tls.key')],
      { cwd: REPO, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    createInterface({ input: npm.stdout! }).on('line', (line) => {
      output.push(line);
      if (line.startsWith('{')) logLines.push(JSON.parse(line) as Record<string, unknown>);
    });
    createInterface({ input: npm.stderr! }).on('line', (line) => output.push(line));
    try {
      await waitFor('the webhook to listen (npm start builds first)', () => logged('port') !== undefined && logged('metricsPort') !== undefined, 150_000);
    } catch (error) {
      throw new Error(`${error instanceof Error ? error.message : String(error)}; npm start printed:\n${output.join('\n')}`);
    }
    expect(logged('mode')).toBe('demo');
    const port = logged('port') as number;
    const metricsPort = logged('metricsPort') as number;

    const findings = () => httpsCall({ port, ca: tls.cert, path: '/pdb-findings' });
    await waitFor('the first lint pass', async () => (await findings()).status === 200, 10_000);
    const report = JSON.parse((await findings()).text) as PdbHealthReport;
    expect(report.source).toBe('the demo cluster');
    const named = report.findings.map((finding) => [finding.check, `${finding.namespace}/${finding.name}`, ...(finding.pdbs ?? [])]);
    expect(named).toEqual(expect.arrayContaining([['lint/overlapping-pdbs', 'shop/cart-ha-pdb', 'shop/cart-pdb'], ['lint/never-allows', 'shop/web-pdb']]));

    const gauges = samples((await httpGet(metricsPort, '/metrics')).text, 'evictionguard_pdb_findings');
    expect(gauges).toEqual(
      expect.arrayContaining([
        { labels: { check: 'lint/overlapping-pdbs', severity: 'error' }, value: 1 },
        { labels: { check: 'lint/never-allows', severity: 'error' }, value: 1 },
      ]),
    );
    // The gauges count exactly what /pdb-findings lists.
    const counted = new Map(gauges.map((sample) => [`${sample.labels.check} ${sample.labels.severity}`, sample.value]));
    for (const finding of report.findings) expect(counted.get(`${finding.check} ${finding.severity}`)).toBe(report.findings.filter((each) => each.check === finding.check && each.severity === finding.severity).length);
  }, 180_000);
});
