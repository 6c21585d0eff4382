import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { RequestListener } from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { ensureSelfSignedPair } from '../../src/certs/selfsigned';
import { startHttpsServer, type HttpsServerHandle } from '../../src/server/https';
import { httpsCall } from './https-client';

interface ServingPair {
  cert: string;
  key: string;
}

let certDir: string;
let pair: ServingPair;
const started: HttpsServerHandle[] = [];

beforeAll(() => {
  certDir = mkdtempSync(path.join(os.tmpdir(), 'eviction-guard-https-'));
  const paths = ensureSelfSignedPair(path.join(certDir, 'first'), []);
  pair = { cert: readFileSync(paths.certPath, 'utf8'), key: readFileSync(paths.keyPath, 'utf8') };
});

afterEach(async () => {
  await Promise.all(started.splice(0).map((server) => server.close(100)));
});

afterAll(() => {
  rmSync(certDir, { recursive: true, force: true });
});

async function start(app: RequestListener, port = 0): Promise<HttpsServerHandle> {
  const server = await startHttpsServer({ app, port, host: '127.0.0.1', ...pair });
  started.push(server);
  return server;
}

const answerOk: RequestListener = (_req, res) => {
  res.end('ok');
};

/** An app whose /slow requests wait until release(); /streaming ones send their headers first. */
function holdingApp() {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let entered!: () => void;
  const requestEntered = new Promise<void>((resolve) => (entered = resolve));
  const app: RequestListener = (req, res) => {
    if (req.url === '/streaming') res.writeHead(200).write('started, ');
    else if (req.url !== '/slow') return answerOk(req, res);
    entered();
    void released.then(() => res.end('finished'));
  };
  return { app, requestEntered, release };
}

/** The negotiated protocol (e.g. "TLSv1.2") when the handshake succeeds, else the error code. */
function handshake(port: number, options: tls.ConnectionOptions = {}): Promise<string | null | undefined> {
  return new Promise((resolve) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ca: pair.cert, ...options });
    socket.once('secureConnect', () => {
      resolve(socket.getProtocol());
      socket.destroy();
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code));
  });
}

describe('startHttpsServer', () => {
  it('reports the bound port when asked for port 0, and serves HTTPS with the given pair', async () => {
    const server = await start(answerOk);

    expect(server.port).toBeGreaterThan(0);
    expect(await httpsCall({ port: server.port, ca: pair.cert, path: '/' })).toMatchObject({ status: 200, text: 'ok' });
  });

  it('refuses a client that speaks only TLS 1.1', async () => {
    const server = await start(answerOk);

    // SECLEVEL=0 lets this client offer TLS 1.1 at all, so the refusal can only come from the server.
    const outcome = await handshake(server.port, { minVersion: 'TLSv1.1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' });

    expect(outcome).toBe('ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION');
  });

  it('accepts a client that speaks only TLS 1.2', async () => {
    const server = await start(answerOk);

    expect(await handshake(server.port, { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' })).toBe('TLSv1.2');
  });

  it('rejects with EADDRINUSE when the port is taken', async () => {
    const first = await start(answerOk);
    await expect(startHttpsServer({ app: answerOk, port: first.port, host: '127.0.0.1', ...pair })).rejects.toMatchObject({ code: 'EADDRINUSE' });
  });

  it('exposes the server so that a rotated serving pair applies to new connections', async () => {
    const server = await start(answerOk);
    const rotatedPaths = ensureSelfSignedPair(path.join(certDir, 'rotated'), []);
    const rotated = { cert: readFileSync(rotatedPaths.certPath, 'utf8'), key: readFileSync(rotatedPaths.keyPath, 'utf8') };

    server.server.setSecureContext({ ...rotated, minVersion: 'TLSv1.2' });

    const reply = await httpsCall({ port: server.port, ca: rotated.cert, path: '/' });
    expect(reply.status).toBe(200);
    expect(await handshake(server.port)).toBe('DEPTH_ZERO_SELF_SIGNED_CERT');
  });
});

describe('graceful close', () => {
  it('lets an in-flight request on a keep-alive connection finish, refuses new connections, then resolves', async () => {
    const { app, requestEntered, release } = holdingApp();
    const server = await start(app);
    const agent = new https.Agent({ keepAlive: true });
    const inFlight = httpsCall({ port: server.port, ca: pair.cert, path: '/slow', agent });
    await requestEntered;

    let closed = false;
    const closing = server.close(10_000).then(() => (closed = true));

    expect(await handshake(server.port)).toBe('ECONNREFUSED');
    expect(closed).toBe(false);

    const started = Date.now();
    release();
    const reply = await inFlight;
    expect(reply).toMatchObject({ status: 200, text: 'finished' });
    expect(reply.headers.connection).toBe('close');

    await closing;
    // Well inside the grace period: the keep-alive connection was closed, not left to time out.
    expect(Date.now() - started).toBeLessThan(5000);
    agent.destroy();
  });

  it('closes a keep-alive connection whose response was already streaming when close began, once it ends', async () => {
    const { app, requestEntered, release } = holdingApp();
    const server = await start(app);
    const agent = new https.Agent({ keepAlive: true });
    const inFlight = httpsCall({ port: server.port, ca: pair.cert, path: '/streaming', agent });
    await requestEntered;

    const closing = server.close(10_000);
    const started = Date.now();
    release();

    expect(await inFlight).toMatchObject({ status: 200, text: 'started, finished' });
    await closing;
    expect(Date.now() - started).toBeLessThan(5000);
    agent.destroy();
  });

  it('does not wait for idle keep-alive connections', async () => {
    const server = await start(answerOk);
    const agent = new https.Agent({ keepAlive: true });
    await httpsCall({ port: server.port, ca: pair.cert, path: '/', agent });

    const started = Date.now();
    await server.close(10_000);

    expect(Date.now() - started).toBeLessThan(5000);
    agent.destroy();
  });

  it('destroys connections still open after the grace period', async () => {
    const { app, requestEntered } = holdingApp();
    const server = await start(app);
    const inFlight = httpsCall({ port: server.port, ca: pair.cert, path: '/slow' });
    await requestEntered;

    const started = Date.now();
    await server.close(200);

    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    await expect(inFlight).rejects.toMatchObject({ code: 'ECONNRESET' });
  });
});
