// Rotation of the serving pair without a restart: the files change under a running server, under load.
import { X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { createLogger, type Logger } from '../../src/audit/logger';
import { createCertificateAuthority, issueServingCertificate, serviceDnsNames, type CertificateAuthority, type KeyType } from '../../src/certs/authority';
import { writeFileAtomically } from '../../src/certs/files';
import { makeCerts } from '../../src/cli/certs';
import { startWebhook } from '../../src/cli/serve';
import { demoClusterView } from '../../src/cluster/snapshot';
import { startHttpsServer, type HttpsServerHandle } from '../../src/server/https';
import { watchServingPair, type ServingPairWatcher, type ServingPairWatchOptions } from '../../src/server/tls-reloader';

const SERVICE_NAME = 'eviction-guard.eviction-guard.svc';
const DAY_MS = 24 * 60 * 60 * 1000;

interface Pair {
  cert: string;
  key: string;
  fingerprint256: string;
  notAfter: string;
}

function issue(ca: CertificateAuthority, keyType: KeyType, options: { now?: Date; days?: number } = {}): Pair {
  const { certPem, keyPem } = issueServingCertificate({ ca, dnsNames: serviceDnsNames('eviction-guard', 'eviction-guard'), keyType, days: options.days ?? 30, now: options.now });
  const x509 = new X509Certificate(certPem);
  return { cert: certPem, key: keyPem, fingerprint256: x509.fingerprint256, notAfter: new Date(x509.validTo).toISOString() };
}

// Two unrelated CAs; the clients trust both, so a swap between them must never fail a request.
const caOne = createCertificateAuthority({ keyType: 'rsa', days: 365 });
const caTwo = createCertificateAuthority({ keyType: 'ecdsa', days: 365 });
const TRUSTED = [caOne.certPem, caTwo.certPem];
const pairA = issue(caOne, 'rsa');
const pairB = issue(caTwo, 'ecdsa');

let dir: string;
let certPath: string;
let keyPath: string;
let logLines: Record<string, unknown>[];
let logText: string;
let logger: Logger;
const cleanups: (() => Promise<void> | void)[] = [];

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'eviction-guard-rotation-'));
  certPath = path.join(dir, 'tls.crt');
  keyPath = path.join(dir, 'tls.key');
  logLines = [];
  logText = '';
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logText += chunk.toString('utf8');
      for (const line of chunk.toString('utf8').split('\n')) if (line) logLines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  logger = createLogger('debug', sink);
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  rmSync(dir, { recursive: true, force: true });
});

function writePair(pair: Pair, paths = { certPath, keyPath }): void {
  writeFileAtomically(paths.keyPath, pair.key, 0o600);
  writeFileAtomically(paths.certPath, pair.cert, 0o644);
}

/** A server on pairA read from the files, with the files watched. */
async function serveWatched(watchOptions: Partial<ServingPairWatchOptions> = {}): Promise<{ server: HttpsServerHandle; watcher: ServingPairWatcher }> {
  writePair(pairA);
  const server = await startHttpsServer({ app: (_req, res) => res.end('ok'), port: 0, host: '127.0.0.1', cert: pairA.cert, key: pairA.key });
  cleanups.push(() => server.close(100));
  const watcher = watchServingPair({
    certPath,
    keyPath,
    target: server,
    logger,
    current: pairA,
    debounceMs: 50,
    retryDelayMs: 100,
    attempts: 10,
    pollIntervalMs: 60_000,
    ...watchOptions,
  });
  cleanups.push(() => watcher.close());
  return { server, watcher };
}

/** One request on a new connection; resolves with the fingerprint of the certificate the server presented. */
function presentedFingerprint(port: number, agent: https.Agent | false = false): Promise<string> {
  return new Promise((resolve, reject) => {
    const request = https.request({ host: '127.0.0.1', port, path: '/', ca: TRUSTED, servername: SERVICE_NAME, rejectUnauthorized: true, agent }, (response) => {
      const fingerprint = (response.socket as TLSSocket).getPeerCertificate().fingerprint256;
      response.resume();
      response.on('end', () => (response.statusCode === 200 ? resolve(fingerprint) : reject(new Error(`status ${response.statusCode}`))));
      response.on('error', reject);
    });
    request.on('error', reject);
    request.end();
  });
}

/** concurrency clients, each making requests on new connections (agent: false) back to back until stopped. */
function startLoad(port: number, concurrency = 20) {
  let running = true;
  const seen: string[] = [];
  const failures: unknown[] = [];
  const worker = async () => {
    while (running) {
      try {
        seen.push(await presentedFingerprint(port));
      } catch (error) {
        failures.push(error);
      }
    }
  };
  const done = Promise.all(Array.from({ length: concurrency }, worker));
  return {
    seen,
    failures,
    stop: async () => {
      running = false;
      await done;
    },
  };
}

async function waitFor(condition: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const atLevel = (level: number) => logLines.filter((line) => line.level === level);
const ERROR = 50;
const WARN = 40;

async function expectServing(server: HttpsServerHandle, pair: Pair): Promise<void> {
  expect(server.certificate().fingerprint256).toBe(pair.fingerprint256);
  for (let i = 0; i < 5; i += 1) expect(await presentedFingerprint(server.port)).toBe(pair.fingerprint256);
}

describe('serving pair rotation under load (20 concurrent clients, a new connection per request)', () => {
  it('switches to a pair from another CA written atomically, without a failed request', async () => {
    const { server } = await serveWatched();
    const load = startLoad(server.port);
    await waitFor(() => load.seen.length >= 100, '100 requests on pair A');

    writePair(pairB);
    await waitFor(() => load.seen.includes(pairB.fingerprint256), 'a connection presented pair B');
    const afterSwap = load.seen.length;
    await waitFor(() => load.seen.length >= afterSwap + 100, '100 more requests');
    await load.stop();

    expect(load.failures).toEqual([]);
    expect(load.seen.slice(0, 100).every((fingerprint) => fingerprint === pairA.fingerprint256)).toBe(true);
    expect(load.seen.slice(-20).every((fingerprint) => fingerprint === pairB.fingerprint256)).toBe(true);
    await expectServing(server, pairB);
    expect(atLevel(ERROR)).toEqual([]);
    const reloaded = logLines.find((line) => line.msg === 'serving certificate reloaded: new TLS connections use it');
    expect(reloaded?.certificate).toMatchObject({ fingerprint256: pairB.fingerprint256, notAfter: pairB.notAfter });
  });

  it('waits out a writer that replaces the cert and the key in two non-atomic steps', async () => {
    const { server } = await serveWatched();
    const pairC = issue(caOne, 'ecdsa');
    const load = startLoad(server.port);
    await waitFor(() => load.seen.length >= 50, '50 requests on pair A');

    // Truncate-and-write, cert first: the watcher sees an empty file, then a cert without its key.
    writeFileSync(certPath, pairC.cert);
    await sleep(250);
    expect(server.certificate().fingerprint256).toBe(pairA.fingerprint256);
    writeFileSync(keyPath, pairC.key);
    await waitFor(() => load.seen.includes(pairC.fingerprint256), 'a connection presented the new pair');
    const afterSwap = load.seen.length;
    await waitFor(() => load.seen.length >= afterSwap + 50, '50 more requests');
    await load.stop();

    expect(load.failures).toEqual([]);
    await expectServing(server, pairC);
    expect(atLevel(ERROR)).toEqual([]);
    expect(atLevel(WARN)).toEqual([]);
    expect(logLines.some((line) => line.msg === 'new serving pair not usable yet, reading it again shortly')).toBe(true);
  });

  it('leaves connections that are already open on the old pair', async () => {
    const { server } = await serveWatched();
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
    cleanups.push(() => agent.destroy());
    expect(await presentedFingerprint(server.port, agent)).toBe(pairA.fingerprint256);

    writePair(pairB);
    await waitFor(() => server.certificate().fingerprint256 === pairB.fingerprint256, 'the reload');

    // The kept-alive connection still speaks with pair A; a new one gets pair B.
    expect(await presentedFingerprint(server.port, agent)).toBe(pairA.fingerprint256);
    expect(await presentedFingerprint(server.port)).toBe(pairB.fingerprint256);
  });
});

describe('what notices a change', () => {
  it('notices a Kubernetes Secret volume update (a ..data symlink swap) through the directory watch alone', async () => {
    // The kubelet's layout: tls.crt -> ..data/tls.crt, ..data -> ..<timestamp>/, swapped by renaming a new symlink over ..data.
    const version = (name: string, pair: Pair) => {
      mkdirSync(path.join(dir, name));
      writeFileSync(path.join(dir, name, 'tls.crt'), pair.cert);
      writeFileSync(path.join(dir, name, 'tls.key'), pair.key);
    };
    version('..2026_01_01_00_00_00.1', pairA);
    symlinkSync('..2026_01_01_00_00_00.1', path.join(dir, '..data'));
    const secretCert = path.join(dir, 'secret.crt');
    const secretKey = path.join(dir, 'secret.key');
    symlinkSync('..data/tls.crt', secretCert);
    symlinkSync('..data/tls.key', secretKey);
    const { server } = await serveWatched({ certPath: secretCert, keyPath: secretKey, pollIntervalMs: 60_000 });

    version('..2026_01_02_00_00_00.2', pairB);
    symlinkSync('..2026_01_02_00_00_00.2', path.join(dir, '..data_tmp'));
    renameSync(path.join(dir, '..data_tmp'), path.join(dir, '..data'));
    rmSync(path.join(dir, '..2026_01_01_00_00_00.1'), { recursive: true });

    await waitFor(() => server.certificate().fingerprint256 === pairB.fingerprint256, 'the reload', 3_000);
    await expectServing(server, pairB);
  });

  it('notices a change by polling when there are no directory events', async () => {
    const { server } = await serveWatched({ watchDirectories: false, pollIntervalMs: 100 });

    writePair(pairB);

    await waitFor(() => server.certificate().fingerprint256 === pairB.fingerprint256, 'the reload', 3_000);
    await expectServing(server, pairB);
  });

  it('does nothing when the files are rewritten with the same pair', async () => {
    const { server, watcher } = await serveWatched();
    writePair(pairA);
    await sleep(200);

    expect(watcher.check()).toBe('unchanged');
    expect(server.certificate().fingerprint256).toBe(pairA.fingerprint256);
    expect(logLines.filter((line) => line.msg === 'serving certificate reloaded: new TLS connections use it')).toEqual([]);
  });
});

describe('a bad new pair', () => {
  const expired = issue(caOne, 'ecdsa', { now: new Date(Date.now() - 10 * DAY_MS), days: 1 });

  it.each([
    ['a key that does not belong to the certificate', { cert: pairB.cert, key: pairA.key }, 'mismatch', /the key does not belong to the certificate/],
    ['a certificate that is not PEM', { cert: 'garbage', key: pairB.key }, 'unreadable', /the certificate is not a PEM certificate/],
    ['a key that is not PEM', { cert: pairB.cert, key: 'garbage' }, 'unreadable', /the key is not a PEM private key/],
    ['an expired certificate', expired, 'expired', /the certificate expired at /],
  ])('is rejected when it has %s: the old pair stays in use, one error is logged, no key material', async (_case, bad, problem, message) => {
    const { server, watcher } = await serveWatched({ retryDelayMs: 50, attempts: 3 });
    const load = startLoad(server.port, 5);

    writeFileAtomically(keyPath, bad.key, 0o600);
    writeFileAtomically(certPath, bad.cert, 0o644);
    await waitFor(() => atLevel(ERROR).length > 0, 'the error', 3_000);
    await load.stop();

    expect(load.failures).toEqual([]);
    await expectServing(server, pairA);
    expect(atLevel(ERROR)).toEqual([
      expect.objectContaining({ msg: 'new serving pair rejected: keeping the current one', problem, error: expect.stringMatching(message), certPath, keyPath }),
    ]);
    // Reported once, not at every poll.
    expect(watcher.check()).toBe('rejected');
    expect(atLevel(ERROR)).toHaveLength(1);
    for (const key of [pairA.key, pairB.key]) {
      const body = key.split('\n')[1];
      expect(logText).not.toContain(body);
    }
    expect(logText).not.toContain('PRIVATE KEY');

    // A good pair afterwards is taken.
    writePair(pairB);
    await waitFor(() => server.certificate().fingerprint256 === pairB.fingerprint256, 'the good pair', 3_000);
  });

  it('waits for a certificate that is not valid yet, keeping the current one meanwhile, and uses it once valid', async () => {
    const { server, watcher } = await serveWatched({ pollIntervalMs: 100 });
    // Certificates start 5 minutes before their "now": this one becomes valid in about 2 s.
    const early = issue(caOne, 'ecdsa', { now: new Date(Date.now() + 5 * 60_000 + 2_000) });
    writePair(early);

    expect(watcher.check()).toBe('waiting');
    expect(server.certificate().fingerprint256).toBe(pairA.fingerprint256);
    expect(await presentedFingerprint(server.port)).toBe(pairA.fingerprint256);
    expect(atLevel(WARN)).toEqual([expect.objectContaining({ msg: 'new serving pair is not valid yet: keeping the current one until then', problem: 'not-yet-valid' })]);
    // Warned about once; looked at again by the poll until it is valid.
    expect(watcher.check()).toBe('waiting');

    await waitFor(() => server.certificate().fingerprint256 === early.fingerprint256, 'the pair to become valid', 5_000);
    expect(atLevel(WARN)).toHaveLength(1);
    expect(atLevel(ERROR)).toEqual([]);
  });
});

describe('eviction-guard serve with the files of eviction-guard certs', () => {
  it('serves certs/ when it holds ca.crt, and picks up a re-issued pair without a restart', async () => {
    const certDir = path.join(dir, 'certs');
    const certsOptions = { service: 'eviction-guard', namespace: 'eviction-guard', outDir: certDir, days: 30, caDays: 365, keyType: 'ecdsa' as const, forceCa: false, printCaBundle: false };
    makeCerts(certsOptions);
    const webhook = await startWebhook(
      { port: 0, logLevel: 'info', certDir, tlsReload: { debounceMs: 50, pollIntervalMs: 60_000 } },
      logger,
      demoClusterView(),
    );
    cleanups.push(() => webhook.close());
    const caOnly = readFileSync(path.join(certDir, 'ca.crt'), 'utf8');
    const call = () =>
      new Promise<string>((resolve, reject) => {
        https
          .get({ host: '127.0.0.1', port: webhook.port, path: '/healthz', ca: caOnly, servername: SERVICE_NAME, agent: false }, (response) => {
            response.resume();
            resolve((response.socket as TLSSocket).getPeerCertificate().fingerprint256);
          })
          .on('error', reject);
      });
    const first = webhook.certificate().fingerprint256;
    expect(await call()).toBe(first);
    expect(logLines.some((line) => line.msg === 'no --tls-cert/--tls-key given: serving the pair "eviction-guard certs" wrote')).toBe(true);

    makeCerts(certsOptions);

    await waitFor(() => webhook.certificate().fingerprint256 !== first, 'the re-issued pair', 3_000);
    expect(await call()).toBe(webhook.certificate().fingerprint256);
    expect(atLevel(ERROR)).toEqual([]);
  });
});
