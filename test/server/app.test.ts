import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { ensureSelfSignedPair } from '../../src/certs/selfsigned';
import type { RequestHandler } from 'express';
import type { EvictionAttempt, RequestOrigin, Verdict } from '../../src/domain';
import { createApp } from '../../src/server/app';
import { startHttpsServer, type HttpsServerHandle } from '../../src/server/https';
import type { DecodedPdbChange } from '../../src/admission/decode';
import { deploymentUpdateReview, evictionReview, pdbCreateReview, REVIEW_UID } from '../admission/reviews';
import { httpsCall, postJson, type HttpsReply } from './https-client';

const budgetDenial: Verdict = {
  allowed: false,
  status: {
    code: 429,
    reason: 'TooManyRequests',
    message: "Cannot evict pod as it would violate the pod's disruption budget.",
    details: { retryAfterSeconds: 10 },
  },
  warnings: ['PDB shop/web-pdb allows 0 disruptions'],
  auditAnnotations: { decision: 'deny' },
  findings: [],
  pdbs: ['shop/web-pdb'],
};

interface LogLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}

const WARN = 40;
const ERROR = 50;

let certDir: string;
let ca: string;
let server: HttpsServerHandle;
let logLines: LogLine[];
let handleEviction: jest.Mock<Promise<Verdict>, [EvictionAttempt, RequestOrigin]>;
/** What operatorAccess does with each request: by default, admits it. */
let operatorAccess: RequestHandler;
let onNotEviction: jest.Mock<void, [string]>;
let handlePdbChange: jest.Mock<Promise<Verdict>, [DecodedPdbChange]>;
let ready: boolean;
let readyDetails: () => unknown;

beforeAll(async () => {
  certDir = mkdtempSync(path.join(os.tmpdir(), 'eviction-guard-app-'));
  const pair = ensureSelfSignedPair(certDir, []);
  ca = readFileSync(pair.certPath, 'utf8');
  const logger = pino({ level: 'debug' }, { write: (line: string) => logLines.push(JSON.parse(line) as LogLine) });
  const app = createApp({
    handleEviction: (attempt, origin) => handleEviction(attempt, origin),
    onNotEviction: (description) => onNotEviction(description),
    handlePdbChange: (change) => handlePdbChange(change),
    isReady: () => ready,
    readyDetails: () => readyDetails(),
    operatorAccess: (req, res, next) => operatorAccess(req, res, next),
    logger,
  });
  server = await startHttpsServer({ app, port: 0, host: '127.0.0.1', cert: ca, key: readFileSync(pair.keyPath, 'utf8') });
});

afterAll(async () => {
  await server.close(1000);
  rmSync(certDir, { recursive: true, force: true });
});

beforeEach(() => {
  logLines = [];
  handleEviction = jest.fn<Promise<Verdict>, [EvictionAttempt, RequestOrigin]>(async () => budgetDenial);
  operatorAccess = (_req, _res, next) => next();
  onNotEviction = jest.fn();
  handlePdbChange = jest.fn<Promise<Verdict>, [DecodedPdbChange]>(async () => ({ ...budgetDenial, allowed: true, status: undefined, warnings: ['PDB shop/a overlaps shop/b'] }));
  ready = false;
  readyDetails = () => ({ mode: 'live', synced: ready });
});

function jsonOf(reply: HttpsReply): unknown {
  expect(reply.headers['content-type']).toMatch(/^application\/json/);
  return JSON.parse(reply.text);
}

async function expectStillServing(): Promise<void> {
  const reply = await postJson(server.port, ca, evictionReview());
  expect(reply.status).toBe(200);
  expect(jsonOf(reply)).toMatchObject({ response: { uid: REVIEW_UID, allowed: false } });
}

describe('POST /validate over HTTPS', () => {
  it('answers an eviction with the encoded verdict of handleEviction, in the review version, uid echoed', async () => {
    const reply = await postJson(server.port, ca, evictionReview());

    expect(reply.status).toBe(200);
    expect(jsonOf(reply)).toStrictEqual({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      response: {
        uid: REVIEW_UID,
        allowed: false,
        status: {
          status: 'Failure',
          code: 429,
          reason: 'TooManyRequests',
          message: "Cannot evict pod as it would violate the pod's disruption budget.",
          details: { retryAfterSeconds: 10 },
        },
        warnings: ['PDB shop/web-pdb allows 0 disruptions'],
        auditAnnotations: { decision: 'deny' },
      },
    });
    expect(handleEviction).toHaveBeenCalledWith(expect.objectContaining({ uid: REVIEW_UID, namespace: 'shop', podName: 'web-7d9c5b7f6-x2x9k' }), {
      caller: 'unauthenticated',
      authenticated: false,
      sourceAddress: '127.0.0.1',
    });
  });

  it('sends the review as UTF-8 JSON with its length and no ETag, which no API server reads', async () => {
    handleEviction.mockResolvedValue({ ...budgetDenial, status: { ...budgetDenial.status!, message: 'Pod shop/wéb-0 is protected' } });
    const reply = await postJson(server.port, ca, evictionReview());

    expect(reply.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(Number(reply.headers['content-length'])).toBe(Buffer.byteLength(reply.text));
    expect(reply.text).toContain('wéb-0');
    expect(reply.headers.etag).toBeUndefined();
  });

  it('answers a v1beta1 review in v1beta1', async () => {
    const review = evictionReview();
    review.apiVersion = 'admission.k8s.io/v1beta1';
    expect(jsonOf(await postJson(server.port, ca, review))).toMatchObject({ apiVersion: 'admission.k8s.io/v1beta1' });
  });

  it('parses the body as JSON whatever content type the client declares', async () => {
    const reply = await postJson(server.port, ca, evictionReview(), { 'content-type': 'text/plain' });
    expect(reply.status).toBe(200);
    expect(handleEviction).toHaveBeenCalledTimes(1);
  });

  it.each([
    { case: 'malformed JSON', body: '{"apiVersion": "admission.k8s.io/v1", ', status: 400, error: /^malformed JSON body: / },
    { case: 'an array body', body: '[]', status: 400, error: /body: expected a JSON object.*got an array/ },
    { case: 'a string body', body: '"x"', status: 400, error: /body: expected a JSON object.*got "x"/ },
    { case: 'a number body', body: '42', status: 400, error: /body: expected a JSON object.*got 42/ },
    { case: 'a review without request', body: JSON.stringify({ ...evictionReview(), request: undefined }), status: 400, error: /request: required object/ },
    {
      case: 'a review without uid',
      body: JSON.stringify({ ...evictionReview(), request: { ...evictionReview().request, uid: undefined } }),
      status: 400,
      error: /request\.uid: required non-empty string/,
    },
    {
      case: 'an unknown review version',
      body: JSON.stringify({ ...evictionReview(), apiVersion: 'admission.k8s.io/v2' }),
      status: 400,
      error: /apiVersion: expected "admission\.k8s\.io\/v1" or "admission\.k8s\.io\/v1beta1"/,
    },
    { case: 'a 4 MB body', body: `{"pad": "${'x'.repeat(4 * 1024 * 1024)}"}`, status: 413, error: /request body exceeds the 3 MiB limit/ },
  ])('answers $case with $status and a JSON error, then keeps serving', async ({ body, status, error }) => {
    const reply = await httpsCall({ port: server.port, ca, method: 'POST', path: '/validate', body, headers: { 'content-type': 'application/json' } });

    expect(reply.status).toBe(status);
    expect(jsonOf(reply)).toStrictEqual({ error: expect.stringMatching(error) });
    expect(handleEviction).not.toHaveBeenCalled();
    await expectStillServing();
  });

  it('allows a review that is not an eviction, and logs a warning naming it', async () => {
    const reply = await postJson(server.port, ca, deploymentUpdateReview());

    expect(reply.status).toBe(200);
    expect(jsonOf(reply)).toStrictEqual({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      response: { uid: 'b1c2d3e4-0000-4000-8000-000000000001', allowed: true },
    });
    expect(handleEviction).not.toHaveBeenCalled();
    expect(onNotEviction).toHaveBeenCalledWith('UPDATE apps/v1 deployments default/web');
    expect(logLines).toContainEqual(expect.objectContaining({ level: WARN, request: 'UPDATE apps/v1 deployments default/web' }));
  });

  it('fails open when handleEviction throws: 200, allowed, one warning, the error only in the log', async () => {
    handleEviction.mockRejectedValueOnce(new Error('cluster read exploded at secret-internal-detail'));

    const reply = await postJson(server.port, ca, evictionReview());

    expect(reply.status).toBe(200);
    const review = jsonOf(reply) as { response: { uid: string; allowed: boolean; warnings: string[] } };
    expect(review.response).toStrictEqual({ uid: REVIEW_UID, allowed: true, warnings: [expect.any(String)] });
    expect(review.response.warnings[0]!.length).toBeLessThanOrEqual(120);
    expect(reply.text).not.toContain('secret-internal-detail');
    expect(logLines).toContainEqual(expect.objectContaining({ level: ERROR, uid: REVIEW_UID, pod: 'shop/web-7d9c5b7f6-x2x9k' }));
  });
});

describe('probes and other routes', () => {
  it('GET /healthz answers 200 ok', async () => {
    const reply = await httpsCall({ port: server.port, ca, path: '/healthz' });
    expect(reply).toMatchObject({ status: 200, text: 'ok' });
  });

  it('GET /readyz answers 503 until ready, then 200, with the status only and no credentials asked', async () => {
    operatorAccess = (_req, res) => void res.status(401).json({ error: 'no' });
    const before = await httpsCall({ port: server.port, ca, path: '/readyz' });
    expect(before).toMatchObject({ status: 503, text: 'not ready' });

    ready = true;
    const after = await httpsCall({ port: server.port, ca, path: '/readyz' });
    expect(after).toMatchObject({ status: 200, text: 'ok' });
    expect(after.headers['content-type']).toMatch(/^text\/plain/);
  });

  it('GET /readyz/details answers the details with the readiness status, once operatorAccess admits the caller', async () => {
    const before = await httpsCall({ port: server.port, ca, path: '/readyz/details' });
    expect(before.status).toBe(503);
    expect(jsonOf(before)).toStrictEqual({ mode: 'live', synced: false });

    ready = true;
    const after = await httpsCall({ port: server.port, ca, path: '/readyz/details' });
    expect(after.status).toBe(200);
    expect(jsonOf(after)).toStrictEqual({ mode: 'live', synced: true });
  });

  it('answers an operator-only route with what operatorAccess answers, without running the route', async () => {
    readyDetails = jest.fn(() => ({ secret: 'counts' }));
    operatorAccess = (req, res) => void res.status(403).json({ error: `forbidden: ${req.path}` });

    const reply = await httpsCall({ port: server.port, ca, path: '/readyz/details' });

    expect(reply.status).toBe(403);
    expect(jsonOf(reply)).toStrictEqual({ error: 'forbidden: /readyz/details' });
    expect(readyDetails).not.toHaveBeenCalled();
  });

  it.each([
    { method: 'GET', path: '/metrics-typo' },
    { method: 'GET', path: '/validate' },
    { method: 'POST', path: '/' },
  ])('answers $method $path with a 404 JSON error', async ({ method, path: route }) => {
    const reply = await httpsCall({ port: server.port, ca, method, path: route });
    expect(reply.status).toBe(404);
    expect(jsonOf(reply)).toStrictEqual({ error: `no route for ${method} ${route}` });
  });

  it('answers an unexpected failure with a 500 JSON error and no stack trace', async () => {
    readyDetails = () => {
      throw new Error('secret-internal-detail');
    };

    const reply = await httpsCall({ port: server.port, ca, path: '/readyz/details' });

    expect(reply.status).toBe(500);
    expect(jsonOf(reply)).toStrictEqual({ error: expect.any(String) });
    expect(reply.text).not.toMatch(/secret-internal-detail|\bat \S+:\d+/);
    expect(logLines).toContainEqual(expect.objectContaining({ level: ERROR, path: '/readyz/details' }));
  });
});

describe('POST /validate: PodDisruptionBudget changes (PDB guard)', () => {
  const pdbReview = () => pdbCreateReview({ minAvailable: 1, selector: { matchLabels: { app: 'web' } } });

  it('answers with the guard verdict, uid echoed', async () => {
    const reply = await postJson(server.port, ca, pdbReview());
    expect(jsonOf(reply)).toMatchObject({ response: { uid: 'c0ffee00-0000-4000-8000-000000000002', allowed: true, warnings: ['PDB shop/a overlaps shop/b'] } });
    expect(handlePdbChange).toHaveBeenCalledWith(expect.objectContaining({ operation: 'CREATE', namespace: 'shop', name: 'web-ha-pdb' }));
    expect(handleEviction).not.toHaveBeenCalled();
  });

  it('allows with a warning and logs an error when the guard fails: it only advises', async () => {
    handlePdbChange.mockRejectedValueOnce(new Error('inventory exploded'));
    const reply = await postJson(server.port, ca, pdbReview());
    expect(jsonOf(reply)).toMatchObject({ response: { allowed: true, warnings: ['eviction-guard could not check this PodDisruptionBudget and allowed it'] } });
    expect(logLines.some((line) => line.level === ERROR && line.msg === 'PDB guard failed: allowing')).toBe(true);
  });
});

describe('the caller checks an app is given', () => {
  let other: HttpsServerHandle;
  let verifyCaller: RequestHandler;
  const auditRecent = jest.fn<void, Parameters<RequestHandler>>((_req, res) => void res.json({ items: [] }));

  beforeAll(async () => {
    const app = createApp({
      handleEviction: (attempt, origin) => handleEviction(attempt, origin),
      isReady: () => true,
      readyDetails: () => ({ synced: true }),
      auditRecent,
      verifyCaller: (req, res, next) => verifyCaller(req, res, next),
      logger: pino({ level: 'silent' }),
    });
    other = await startHttpsServer({ app, port: 0, host: '127.0.0.1', cert: ca, key: readFileSync(path.join(certDir, 'tls.key'), 'utf8') });
  });
  afterAll(() => other.close(1000));

  it('does not serve operator-only routes at all without operatorAccess', async () => {
    for (const route of ['/audit/recent', '/readyz/details']) expect((await httpsCall({ port: other.port, ca, path: route })).status).toBe(404);
    expect(auditRecent).not.toHaveBeenCalled();
  });

  it('passes the origin verifyCaller leaves to handleEviction', async () => {
    const origin: RequestOrigin = { caller: 'CN=kube-apiserver', authenticated: true, sourceAddress: '127.0.0.1' };
    verifyCaller = (_req, res, next) => {
      res.locals.origin = origin;
      next();
    };
    expect((await postJson(other.port, ca, evictionReview())).status).toBe(200);
    expect(handleEviction).toHaveBeenCalledWith(expect.objectContaining({ uid: REVIEW_UID }), origin);
  });

  it('answers what verifyCaller answers, before the body is read or anything decided', async () => {
    verifyCaller = (_req, res) => void res.status(401).json({ error: 'a client certificate is required' });
    const reply = await httpsCall({ port: other.port, ca, method: 'POST', path: '/validate', body: '{"not json', headers: { 'content-type': 'application/json' } });
    expect(reply.status).toBe(401);
    expect(jsonOf(reply)).toStrictEqual({ error: 'a client certificate is required' });
    expect(handleEviction).not.toHaveBeenCalled();
  });
});
