import express from 'express';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import type { AccessDecision } from '../../src/security/delegated-access';
import { SecurityMetrics } from '../../src/security/metrics';
import { bearerToken, isLoopbackAddress, loopbackGate, operatorOnly, type OperatorCaller, type OperatorGate } from '../../src/security/operator-access';
import { captureLog, type CapturedLog } from '../helpers/log-capture';

let server: http.Server;
let base: string;
let decision: AccessDecision;
let admitted: OperatorCaller[];
let log: CapturedLog;
let registry: Registry;
let middleware: ReturnType<typeof operatorOnly>;

const gate: OperatorGate = {
  mode: 'delegated',
  admit: async (caller) => {
    admitted.push(caller);
    return decision;
  },
};

beforeAll(async () => {
  const app = express();
  app.get('/audit/recent', (req, res, next) => middleware(req, res, next), (_req, res) => {
    res.json({ items: ['secret'] });
  });
  server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise((resolve) => server.close(resolve)));
beforeEach(() => {
  admitted = [];
  log = captureLog('debug');
  registry = new Registry();
  middleware = operatorOnly(gate, { logger: log.logger, metrics: new SecurityMetrics(registry) });
});

const get = (headers: Record<string, string> = {}) => fetch(`${base}/audit/recent`, { headers });

describe('operatorOnly', () => {
  it('runs the route for an allowed caller, passing the token, the path and the address to the gate', async () => {
    decision = { outcome: 'allowed', user: 'alice' };
    const reply = await get({ authorization: 'Bearer alice-token' });
    expect(reply.status).toBe(200);
    expect(await reply.json()).toEqual({ items: ['secret'] });
    expect(reply.headers.get('cache-control')).toBe('no-store');
    expect(admitted).toEqual([{ token: 'alice-token', path: '/audit/recent', remoteAddress: '127.0.0.1' }]);
  });

  it('asks about the route\'s own path whatever case or trailing slash the request used', async () => {
    decision = { outcome: 'allowed', user: 'alice' };
    expect((await fetch(`${base}/AUDIT/Recent/?limit=1`, { headers: { authorization: 'Bearer alice-token' } })).status).toBe(200);
    expect(admitted.map((caller) => caller.path)).toEqual(['/audit/recent']);
  });

  it('answers 401 with a Bearer challenge for an unauthenticated caller', async () => {
    decision = { outcome: 'unauthenticated', problem: 'no bearer token' };
    const reply = await get();
    expect(reply.status).toBe(401);
    expect(reply.headers.get('www-authenticate')).toBe('Bearer realm="eviction-guard"');
    expect(await reply.json()).toEqual({ error: 'Unauthorized: no bearer token. Send "Authorization: Bearer <token>" (e.g. from kubectl create token)' });
    expect(admitted).toEqual([{ token: undefined, path: '/audit/recent', remoteAddress: '127.0.0.1' }]);
  });

  it('answers 401 without asking the gate when the Authorization header is not a bearer token', async () => {
    const reply = await get({ authorization: 'Basic YWxpY2U6cHc=' });
    expect(reply.status).toBe(401);
    expect(((await reply.json()) as { error: string }).error).toMatch(/^Unauthorized: the Authorization header is not "Bearer <token>"/);
    expect(admitted).toEqual([]);
  });

  it('answers 403 in the API server\'s words for a caller RBAC does not allow', async () => {
    decision = { outcome: 'forbidden', user: 'system:serviceaccount:apps:web' };
    const reply = await get({ authorization: 'Bearer web-token' });
    expect(reply.status).toBe(403);
    expect(await reply.json()).toEqual({ error: 'forbidden: User "system:serviceaccount:apps:web" cannot get path "/audit/recent"' });
  });

  it('answers 503 with Retry-After when the API server cannot review the caller, the cause only in the log', async () => {
    decision = { outcome: 'unavailable', problem: 'TokenReview failed: POST /apis/authentication.k8s.io/v1/tokenreviews: HTTP 403 Forbidden' };
    const reply = await get({ authorization: 'Bearer alice-token' });
    expect(reply.status).toBe(503);
    expect(reply.headers.get('retry-after')).toBe('1');
    const body = (await reply.json()) as { error: string };
    expect(body.error).toBe('cannot verify the caller with the API server right now; retry shortly');
    expect(log.lines).toContainEqual(expect.objectContaining({ level: 40, problem: decision.problem, path: '/audit/recent' }));
  });

  it('answers 429 with Retry-After while too many reviews are in flight', async () => {
    decision = { outcome: 'busy', problem: '16 access reviews are waiting on the API server already' };
    const reply = await get({ authorization: 'Bearer alice-token' });
    expect(reply.status).toBe(429);
    expect(reply.headers.get('retry-after')).toBe('1');
  });

  it('never logs the token, and counts each result', async () => {
    for (const outcome of ['allowed', 'forbidden', 'unavailable'] as const) {
      decision = outcome === 'allowed' ? { outcome, user: 'alice' } : outcome === 'forbidden' ? { outcome, user: 'bob' } : { outcome, problem: 'down' };
      await get({ authorization: 'Bearer s3cr3t-token-value' });
    }
    expect(log.lines.length).toBeGreaterThanOrEqual(3);
    expect(JSON.stringify(log.lines)).not.toContain('s3cr3t-token-value');
    const counted = await registry.getSingleMetric('evictionguard_operator_requests_total')!.get();
    expect(Object.fromEntries(counted.values.map((sample) => [sample.labels.result, sample.value]))).toEqual({ allowed: 1, forbidden: 1, unavailable: 1 });
  });
});

describe('bearerToken', () => {
  it.each<[string | undefined, string | undefined | null]>([
    [undefined, undefined],
    ['Bearer abc.def-ghi', 'abc.def-ghi'],
    ['bearer abc', 'abc'],
    ['Bearer  abc ', 'abc'],
    ['Bearer', null],
    ['Bearer ', null],
    ['Basic YWxpY2U6cHc=', null],
    ['Bearer a b', null],
  ])('reads %j as %j', (header, token) => {
    expect(bearerToken(header)).toBe(token);
  });
});

describe('loopbackGate (no cluster to ask)', () => {
  it.each(['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1'])('allows %s', async (remoteAddress) => {
    expect(isLoopbackAddress(remoteAddress)).toBe(true);
    expect(await loopbackGate().admit({ path: '/audit/recent', remoteAddress })).toEqual({ outcome: 'allowed', user: 'loopback' });
  });

  it.each(['10.244.1.7', '::ffff:10.0.0.1', 'fe80::1', '128.0.0.1', undefined])('refuses %s, token or not', async (remoteAddress) => {
    expect(isLoopbackAddress(remoteAddress)).toBe(false);
    expect(await loopbackGate().admit({ token: 'anything', path: '/audit/recent', remoteAddress })).toMatchObject({ outcome: 'forbidden' });
  });
});
