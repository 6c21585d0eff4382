// mTLS on /validate: judged per route on a listener that asks every client for a certificate, so
// probes stay open; the client CA rotates through the serving-pair watch without a restart.
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { Registry } from 'prom-client';
import { writeFileAtomically } from '../../src/certs/files';
import type { EvictionAttempt, RequestOrigin, Verdict } from '../../src/domain';
import { createApp } from '../../src/server/app';
import { startHttpsServer, type HttpsServerHandle } from '../../src/server/https';
import { ServingPairError } from '../../src/server/serving-pair';
import { watchServingPair, type ServingPairWatcher } from '../../src/server/tls-reloader';
import { certificateHasName, judgeClientCertificate, requireClientCertificate, subjectName } from '../../src/security/client-certificate';
import { SecurityMetrics } from '../../src/security/metrics';
import { evictionReview } from '../admission/reviews';
import { captureLog } from '../helpers/log-capture';
import { issueTestClientCertificate, makeTestAuthority, makeTestCertificate, type TestCertificate } from '../helpers/tls';
import { waitFor } from '../e2e/harness';
import { httpsCall } from '../server/https-client';

const serving = makeTestCertificate();
const apiServerCa = makeTestAuthority('apiserver-client-ca');
const otherCa = makeTestAuthority('someone-else-ca');
const apiServerClient = issueTestClientCertificate(apiServerCa, { commonName: 'kube-apiserver', organization: 'system:masters' });
const sanClient = issueTestClientCertificate(apiServerCa, { commonName: 'webhook-client', dnsNames: ['apiserver.example.internal'], ipAddresses: ['10.0.0.1'] });
const strangerClient = issueTestClientCertificate(otherCa, { commonName: 'kube-apiserver' });
const serverAuthOnly = issueTestClientCertificate(apiServerCa, { commonName: 'kube-apiserver', extKeyUsage: 'serverAuth' });

const allow: Verdict = { allowed: true, warnings: [], auditAnnotations: {}, findings: [], pdbs: [] };

describe('judgeClientCertificate', () => {
  const x509 = (pem: TestCertificate) => new X509Certificate(pem.cert);

  it('refuses a caller without a certificate', () => {
    expect(judgeClientCertificate({ authorized: false, authorizationError: 'UNABLE_TO_GET_ISSUER_CERT' }, [])).toMatchObject({ outcome: 'refused', reason: 'missing' });
  });

  it('refuses a certificate the handshake did not verify, saying why', () => {
    expect(judgeClientCertificate({ authorized: false, authorizationError: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', certificate: x509(strangerClient) }, [])).toEqual({
      outcome: 'refused',
      reason: 'untrusted',
      message: 'the client certificate is not signed by the client CA (UNABLE_TO_VERIFY_LEAF_SIGNATURE)',
    });
  });

  it('accepts a verified certificate, naming its subject as RFC 4514 writes it', () => {
    expect(judgeClientCertificate({ authorized: true, certificate: x509(apiServerClient) }, [])).toEqual({ outcome: 'verified', subject: 'CN=kube-apiserver,O=system:masters' });
  });

  it('with names, accepts a certificate whose CN or DNS/IP SAN is one of them, and refuses others with 403 material', () => {
    const judge = (pem: TestCertificate, names: string[]) => judgeClientCertificate({ authorized: true, certificate: x509(pem) }, names).outcome;
    expect(judge(apiServerClient, ['kube-apiserver'])).toBe('verified');
    expect(judge(apiServerClient, ['someone', 'kube-apiserver'])).toBe('verified');
    expect(judge(sanClient, ['apiserver.example.internal'])).toBe('verified');
    expect(judge(sanClient, ['10.0.0.1'])).toBe('verified');
    expect(judgeClientCertificate({ authorized: true, certificate: x509(apiServerClient) }, ['kube-apiserver-proxy'])).toMatchObject({ outcome: 'refused', reason: 'name' });
  });

  it('matches names exactly: no wildcard, no case folding of the CN, no organization', () => {
    const wildcard = x509(issueTestClientCertificate(apiServerCa, { commonName: 'x', dnsNames: ['*.example.internal'] }));
    expect(certificateHasName(wildcard, 'apiserver.example.internal')).toBe(false);
    expect(certificateHasName(x509(apiServerClient), 'KUBE-APISERVER')).toBe(false);
    expect(certificateHasName(x509(apiServerClient), 'system:masters')).toBe(false);
    expect(subjectName(x509(sanClient))).toBe('CN=webhook-client');
  });
});

describe('/validate with --client-ca', () => {
  let dir: string;
  let server: HttpsServerHandle;
  let watcher: ServingPairWatcher;
  let registry: Registry;
  let handled: { attempt: EvictionAttempt; origin: RequestOrigin }[];
  const log = captureLog('info');

  async function start(names: string[] = []): Promise<void> {
    registry = new Registry();
    const app = createApp({
      handleEviction: async (attempt, origin) => {
        handled.push({ attempt, origin });
        return allow;
      },
      isReady: () => true,
      readyDetails: () => ({}),
      verifyCaller: requireClientCertificate({ names, logger: log.logger, metrics: new SecurityMetrics(registry) }),
      logger: log.logger,
    });
    server = await startHttpsServer({ app, port: 0, host: '127.0.0.1', cert: serving.cert, key: serving.key, clientCa: apiServerCa.cert });
    watcher = watchServingPair({
      certPath: path.join(dir, 'tls.crt'),
      keyPath: path.join(dir, 'tls.key'),
      clientCaPath: path.join(dir, 'client-ca.crt'),
      target: server,
      logger: log.logger,
      current: { ...serving, clientCa: apiServerCa.cert },
      debounceMs: 20,
      pollIntervalMs: 100,
    });
  }

  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'mtls-'));
    writeFileSync(path.join(dir, 'tls.crt'), serving.cert);
    writeFileSync(path.join(dir, 'tls.key'), serving.key);
    writeFileSync(path.join(dir, 'client-ca.crt'), apiServerCa.cert);
    handled = [];
  });
  afterEach(async () => {
    watcher.close();
    await server.close(100);
    rmSync(dir, { recursive: true, force: true });
  });

  const call = (urlPath: string, client?: TestCertificate, agent?: https.Agent) =>
    urlPath === '/validate'
      ? httpsCall({ port: server.port, ca: serving.cert, method: 'POST', path: urlPath, body: JSON.stringify(evictionReview()), headers: { 'content-type': 'application/json' }, client, agent })
      : httpsCall({ port: server.port, ca: serving.cert, path: urlPath, client, agent });

  async function refusals(): Promise<Record<string, number>> {
    const metric = await registry.getSingleMetric('evictionguard_client_certificate_refusals_total')!.get();
    return Object.fromEntries(metric.values.filter((sample) => sample.value > 0).map((sample) => [sample.labels.reason, sample.value]));
  }

  it('decides for the API server\'s certificate, passing its subject as the caller', async () => {
    await start(['kube-apiserver']);
    const reply = await call('/validate', apiServerClient);
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.text)).toMatchObject({ response: { allowed: true } });
    expect(handled.map(({ origin }) => origin)).toEqual([{ caller: 'CN=kube-apiserver,O=system:masters', authenticated: true, sourceAddress: '127.0.0.1' }]);
  });

  it('gives nothing to a caller without a certificate, with one from another CA, with a server-only certificate, or with another name', async () => {
    await start(['kube-apiserver']);
    const cases: [TestCertificate | undefined, number, RegExp][] = [
      [undefined, 401, /a client certificate is required/],
      [strangerClient, 401, /not signed by the client CA/],
      [serverAuthOnly, 401, /not signed by the client CA \(.*\)/],
      [sanClient, 403, /names none of the allowed clients \(--client-name kube-apiserver\)/],
    ];
    for (const [client, status, message] of cases) {
      const reply = await call('/validate', client);
      expect([reply.status, JSON.parse(reply.text).error]).toEqual([status, expect.stringMatching(message)]);
    }
    expect(handled).toEqual([]);
    expect(await refusals()).toEqual({ missing: 1, untrusted: 2, name: 1 });
    expect(log.messages(40).filter((message) => message.startsWith('refused a /validate caller'))).toHaveLength(1);
  });

  it('keeps the probes open to callers without a certificate', async () => {
    await start();
    expect(await call('/healthz')).toMatchObject({ status: 200, text: 'ok' });
    expect(await call('/readyz')).toMatchObject({ status: 200, text: 'ok' });
  });

  it('picks up a rotated client CA file without a restart, and closes connections verified under the old one', async () => {
    await start();
    const keepAlive = new https.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      expect((await call('/validate', apiServerClient, keepAlive)).status).toBe(200);
      const onOpenConnection = await call('/validate', apiServerClient, keepAlive);
      expect(onOpenConnection).toMatchObject({ status: 200, reusedSocket: true });

      writeFileAtomically(path.join(dir, 'client-ca.crt'), otherCa.cert, 0o644);
      await waitFor('the new client CA', async () => (await call('/validate', strangerClient)).status === 200);
      expect((await call('/validate', apiServerClient)).status).toBe(401);
      expect(log.messages()).toContain('client CA reloaded: new connections to /validate are verified against it');
      // The kept-alive connection from before the rotation is gone: the next call handshakes again, and is refused.
      const afterRotation = await call('/validate', apiServerClient, keepAlive);
      expect(afterRotation).toMatchObject({ status: 401, reusedSocket: false });
    } finally {
      keepAlive.destroy();
    }
  });

  it('keeps the client CA in use when the file is replaced by something that is not a certificate', async () => {
    await start();
    writeFileSync(path.join(dir, 'client-ca.crt'), 'not a certificate\n');
    expect(watcher.check()).toBe('retrying');
    expect((await call('/validate', apiServerClient)).status).toBe(200);
    expect(() => server.setServingPair({ ...serving, clientCa: 'garbage' })).toThrow(ServingPairError);
    expect((await call('/validate', apiServerClient)).status).toBe(200);
  });

  it('does not start with a client CA file that holds no certificate', async () => {
    const app = createApp({ handleEviction: async () => allow, isReady: () => true, readyDetails: () => ({}), logger: log.logger });
    await expect(startHttpsServer({ app, port: 0, host: '127.0.0.1', cert: serving.cert, key: serving.key, clientCa: 'nothing here' })).rejects.toThrow(
      'the client CA file holds no PEM certificate',
    );
    // afterEach closes these.
    await start();
  });
});
