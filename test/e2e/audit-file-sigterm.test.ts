// The audit file through the real command: the sources are built (test/helpers/build.ts, as
// `npm run build` does, into a private folder), `eviction-guard serve`
// runs as its own process with a small --audit-file-max-bytes, takes a stream of evictions over
// HTTPS, and gets SIGTERM in the middle of it. Every answered eviction must have exactly one line
// across the rotated files, and every line must be valid JSON with the documented fields.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { evictionReview } from '../admission/reviews';
import { buildPackage, type BuiltPackage } from '../helpers/build';
import { makeTestCertificate } from '../helpers/tls';

const REPO = path.resolve(__dirname, '../..');
const MAX_BYTES = 4096;
const KEEP = 100;
const REQUESTS = 300;
/** SIGTERM goes out once this many answers are in: the rest are in flight or not yet sent. */
const SIGTERM_AFTER = 100;
const DEMO_PODS = ['web-7d9c5b7f6-x2x9k', 'api-6f4b8c9d7-l5j8n', 'cart-5d8f7b6c4-q7w2e'];
const AUDIT_FIELDS = ['uid', 'user', 'groups', 'pod', 'node', 'dryRun', 'allowed', 'code', 'checks', 'pdbs', 'latencyMs', 'factSource', 'confirmedLive', 'caller'];

const tls = makeTestCertificate();
let root: string;
let build: BuiltPackage | undefined;
let server: ChildProcess | undefined;
const output: string[] = [];

function post(port: number, agent: https.Agent, uid: string, name: string): Promise<{ status: number; uid: string }> {
  const review = evictionReview();
  Object.assign(review.request, { uid, name, namespace: 'shop' });
  const body = JSON.stringify(review);
  return new Promise((resolve, reject) => {
    const request = https.request(
      { host: '127.0.0.1', port, method: 'POST', path: '/validate', ca: tls.cert, agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, uid: (JSON.parse(text) as { response: { uid: string } }).response.uid }));
        response.on('error', reject);
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

beforeAll(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'audit-sigterm-'));
  writeFileSync(path.join(root, 'tls.crt'), tls.cert);
  writeFileSync(path.join(root, 'tls.key'), tls.key);
  build = buildPackage('audit-sigterm-build-');
}, 120_000);

afterAll(() => {
  if (server && server.exitCode === null) server.kill('SIGKILL');
  rmSync(root, { recursive: true, force: true });
  build?.remove();
});

describe('eviction-guard serve --audit-file', () => {
  it('loses no line across rotation and SIGTERM, and writes every line as JSON with the documented fields', async () => {
    const auditFile = path.join(root, 'audit.log');
    const env: NodeJS.ProcessEnv = { ...process.env, HOME: root, KUBECONFIG: path.join(root, 'no-such-kubeconfig') };
    delete env.KUBERNETES_SERVICE_HOST;
    server = spawn(
      process.execPath,
      [
        build!.cli,
        'serve',
        '--port', '0',
        '--metrics-port', '0',
        '--metrics-address', '127.0.0.1',
        '--snapshot', path.join(REPO, 'demo', 'cluster.yaml'),
        '--tls-cert', path.join(root, 'tls.crt'),
        '--tls-key', path.join(root, 'tls.key'),
        '--audit-file', auditFile,
        '--audit-file-max-bytes', String(MAX_BYTES),
        '--audit-file-keep', String(KEEP),
      ],
      { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const exited = new Promise<number | null>((resolve) => server!.once('exit', (code) => resolve(code)));
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the server did not start:\n${output.join('')}`)), 30_000);
      void exited.then((code) => reject(new Error(`the server exited with ${code}:\n${output.join('')}`)));
      const collect = (chunk: Buffer) => {
        output.push(chunk.toString('utf8'));
        for (const line of output.join('').split('\n')) {
          try {
            const entry = JSON.parse(line) as { port?: number };
            if (typeof entry.port === 'number') {
              clearTimeout(timer);
              resolve(entry.port);
            }
          } catch {
            // not a whole JSON line (yet)
          }
        }
      };
      server!.stdout!.on('data', collect);
      server!.stderr!.on('data', collect);
    });

    // Keep-alive connections, as the API server's: requests are in flight on them when SIGTERM lands.
    const agent = new https.Agent({ keepAlive: true, maxSockets: 8 });
    let answered = 0;
    const results = await Promise.allSettled(
      Array.from({ length: REQUESTS }, (_, index) =>
        post(port, agent, `sigterm-${index}`, DEMO_PODS[index % DEMO_PODS.length]).then((result) => {
          if (++answered === SIGTERM_AFTER) server!.kill('SIGTERM');
          return result;
        }),
      ),
    );
    agent.destroy();
    expect(await exited).toBe(0);

    const answeredUids = results.flatMap((result) => (result.status === 'fulfilled' && result.value.status === 200 ? [result.value.uid] : []));
    expect(answeredUids.length).toBeGreaterThanOrEqual(SIGTERM_AFTER);
    // SIGTERM cut the stream: the server stopped taking requests part-way.
    expect(answeredUids.length).toBeLessThan(REQUESTS);

    const files = readdirSync(root).filter((name) => name === 'audit.log' || /^audit\.log\.\d+$/.test(name));
    expect(files.length).toBeGreaterThan(2);
    expect(files.length).toBeLessThanOrEqual(KEEP + 1);
    expect(existsSync(`${auditFile}.1`)).toBe(true);
    for (const name of files) expect(statSync(path.join(root, name)).size).toBeLessThanOrEqual(MAX_BYTES);

    // Oldest file first: PATH.N … PATH.1, PATH.
    const ordered = files.sort((a, b) => Number(b.split('.')[2] ?? 0) - Number(a.split('.')[2] ?? 0));
    const lines = ordered.flatMap((name) => readFileSync(path.join(root, name), 'utf8').split('\n').filter((line) => line !== ''));
    const entries = lines.map((line) => JSON.parse(line) as { time: string; msg: string; audit: Record<string, unknown> });
    expect(entries.map((entry) => entry.audit.uid).sort()).toEqual([...answeredUids].sort());
    for (const entry of entries) {
      expect(Object.keys(entry)).toEqual(['time', 'msg', 'audit']);
      expect(entry.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      expect(['eviction allowed', 'eviction denied']).toContain(entry.msg);
      expect(AUDIT_FIELDS).toEqual(expect.arrayContaining(Object.keys(entry.audit)));
      expect(entry.audit).toMatchObject({ user: 'kubernetes-admin', dryRun: false, factSource: 'snapshot', confirmedLive: false, caller: 'unauthenticated' });
      expect(entry.msg === 'eviction denied').toBe(entry.audit.allowed === false);
    }
    expect(entries.map((entry) => entry.time)).toEqual([...entries.map((entry) => entry.time)].sort());

    // The stdout audit log kept every decision as well.
    const stdoutAudit = output
      .join('')
      .split('\n')
      .filter((line) => line.includes('"audit":{'))
      .map((line) => (JSON.parse(line) as { audit: { uid: string } }).audit.uid);
    expect(stdoutAudit.sort()).toEqual([...answeredUids].sort());
  }, 60_000);
});
