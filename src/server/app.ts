import express, { type ErrorRequestHandler, type Express, type Request, type RequestHandler, type Response } from 'express';
import type { Logger } from 'pino';
import { decodeAdmissionReview, type AdmissionReviewVersion, type DecodedPdbChange } from '../admission/decode';
import { allowResponse, encodeAdmissionResponse, type AdmissionReviewResponse } from '../admission/encode';
import type { EvictionAttempt, RequestOrigin, Verdict } from '../domain';
import { ORIGIN_LOCAL, unauthenticatedOrigin } from '../security/client-certificate';

export interface AppDeps {
  /** `origin`: who sent the review (its verified client certificate, or unauthenticated) and from where. */
  handleEviction(attempt: EvictionAttempt, origin: RequestOrigin): Promise<Verdict>;
  /** The PDB admission guard; absent (--pdb-guard=off): PDB changes are allowed without a look. */
  handlePdbChange?(change: DecodedPdbChange): Promise<Verdict>;
  /** Called with a description of each allowed request that was not a pods/eviction CREATE. */
  onNotEviction?(description: string): void;
  isReady(): boolean;
  /** Shown by /readyz/details (operator-only), ready or not; /readyz itself says only ready or not. */
  readyDetails(): unknown;
  /** GET /audit/recent (audit/recent.ts); absent: 404. */
  auditRecent?: RequestHandler;
  /** GET /pdb-findings (lint/pdb-health.ts); absent: 404. */
  pdbFindings?: RequestHandler;
  /**
   * In front of /validate under --client-ca (security/client-certificate.ts): refuses callers
   * without a verified certificate and leaves the RequestOrigin in res.locals. Absent: every caller
   * is unauthenticated.
   */
  verifyCaller?: RequestHandler;
  /**
   * Admits callers of the operator-only routes (security/operator-access.ts). Absent: those routes
   * are not served at all, never served open.
   */
  operatorAccess?: RequestHandler;
  logger: Logger;
}

/**
 * Routes that reveal cluster data beyond a probe's status, served only behind operatorAccess
 * (RBAC: get on the non-resource URL of the path). The reader ClusterRole of the chart and of
 * manifests/ grants exactly these (the install tests check it). A new one: its path here, its
 * handler in createApp.
 */
export const OPERATOR_ROUTES = ['/readyz/details', '/audit/recent', '/pdb-findings'] as const;
export type OperatorRoute = (typeof OPERATOR_ROUTES)[number];

/** The API server's own request body limit (MaxRequestBodyBytes); an Eviction review is a few KB. */
const BODY_LIMIT_BYTES = 3 * 1024 * 1024;

const FAIL_OPEN_WARNING = 'eviction-guard could not evaluate this eviction and allowed it; the API server still checks PDBs';
const PDB_GUARD_FAILED_WARNING = 'eviction-guard could not check this PodDisruptionBudget and allowed it';

/** The webhook's HTTP surface. TLS lives in https.ts; there is no plaintext listener. */
export function createApp(deps: AppDeps): Express {
  const { logger } = deps;
  const app = express();
  app.disable('x-powered-by');

  // Any content type: the body is an AdmissionReview whatever a client labels it. Not strict, so
  // that `"x"` or `42` reach the decoder and get a message about the shape, not about JSON syntax.
  const jsonBody = express.json({ type: () => true, strict: false, limit: BODY_LIMIT_BYTES });

  // The caller is checked before the body is read: a refused caller costs no parsing.
  const validateChain = deps.verifyCaller === undefined ? [jsonBody] : [deps.verifyCaller, jsonBody];
  app.post('/validate', ...validateChain, async (req: Request, res: Response) => {
    const origin = (res.locals[ORIGIN_LOCAL] as RequestOrigin | undefined) ?? unauthenticatedOrigin(req.socket.remoteAddress);
    const review = decodeAdmissionReview(req.body);
    switch (review.outcome) {
      case 'rejected':
        logger.warn({ error: review.message }, 'rejected a /validate request');
        res.status(review.httpStatus).json({ error: review.message });
        return;
      case 'not-eviction':
        logger.warn(
          { uid: review.uid, request: review.description },
          'allowed a request that is not a pods/eviction CREATE: check the webhook configuration rules',
        );
        deps.onNotEviction?.(review.description);
        sendReview(res, allowResponse(review.version, review.uid));
        return;
      case 'pdb-change':
        if (deps.handlePdbChange === undefined) {
          sendReview(res, allowResponse(review.version, review.uid));
          return;
        }
        // The guard only advises: a failure never blocks a PDB change.
        sendReview(
          res,
          await answerOrAllow(review.version, review.uid, () => deps.handlePdbChange!(review), PDB_GUARD_FAILED_WARNING, (error) =>
            logger.error({ err: error, uid: review.uid, pdb: `${review.namespace}/${review.name}` }, 'PDB guard failed: allowing'),
          ),
        );
        return;
      case 'eviction': {
        const { attempt } = review;
        // Fail open: the API server still enforces the budget after the webhook (docs/eviction-semantics.md §10.3).
        sendReview(
          res,
          await answerOrAllow(review.version, attempt.uid, () => deps.handleEviction(attempt, origin), FAIL_OPEN_WARNING, (error) =>
            logger.error({ err: error, uid: attempt.uid, pod: `${attempt.namespace}/${attempt.podName}` }, 'eviction handler failed: allowing'),
          ),
        );
        return;
      }
    }
  });

  app.get('/healthz', (_req, res) => {
    res.type('text/plain').send('ok');
  });

  // For kubelet, which has no credentials: the status only. Counts, restarts and policy errors are on /readyz/details.
  app.get('/readyz', (_req, res) => {
    const ready = deps.isReady();
    res.status(ready ? 200 : 503).type('text/plain').send(ready ? 'ok' : 'not ready');
  });

  const operatorHandlers: Record<OperatorRoute, RequestHandler | undefined> = {
    '/readyz/details': (_req, res) => void res.status(deps.isReady() ? 200 : 503).json(deps.readyDetails()),
    '/audit/recent': deps.auditRecent,
    '/pdb-findings': deps.pdbFindings,
  };
  if (deps.operatorAccess !== undefined) {
    for (const route of OPERATOR_ROUTES) {
      const handler = operatorHandlers[route];
      if (handler !== undefined) app.get(route, deps.operatorAccess, handler);
    }
  }

  app.use((req, res) => {
    res.status(404).json({ error: `no route for ${req.method} ${req.path}` });
  });

  app.use(errorHandler(logger));
  return app;
}

/**
 * Answers an AdmissionReview with node's own response methods: express's res.json would parse and
 * re-format the content type and hash the body for an ETag on every review, which no API server reads.
 */
function sendReview(res: Response, review: AdmissionReviewResponse): void {
  const body = JSON.stringify(review);
  res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

/** The encoded verdict of `decide`, or, when it throws, an allow carrying `failureWarning`. */
async function answerOrAllow(
  version: AdmissionReviewVersion,
  uid: string,
  decide: () => Promise<Verdict>,
  failureWarning: string,
  logFailure: (error: unknown) => void,
): Promise<AdmissionReviewResponse> {
  try {
    return encodeAdmissionResponse(version, uid, await decide());
  } catch (error) {
    logFailure(error);
    return allowResponse(version, uid, failureWarning);
  }
}

interface HttpError {
  status: number;
  type?: string;
  message: string;
}

/** body-parser errors carry a 4xx status that is safe to show; anything else is ours and stays in the log. */
function isClientError(error: unknown): error is HttpError {
  const status = (error as { status?: unknown } | null)?.status;
  return typeof status === 'number' && status >= 400 && status < 500;
}

function errorHandler(logger: Logger): ErrorRequestHandler {
  return (error: unknown, req, res, next) => {
    if (res.headersSent) {
      next(error);
      return;
    }
    if (!isClientError(error)) {
      logger.error({ err: error, method: req.method, path: req.path }, 'request failed');
      res.status(500).json({ error: 'internal error; see the webhook log' });
      return;
    }
    logger.warn({ status: error.status, type: error.type, path: req.path }, `rejected a request: ${error.message}`);
    res.status(error.status).json({ error: clientErrorMessage(error) });
  };
}

function clientErrorMessage(error: HttpError): string {
  switch (error.type) {
    case 'entity.parse.failed':
      return `malformed JSON body: ${error.message}`;
    case 'entity.too.large':
      return `request body exceeds the ${BODY_LIMIT_BYTES / (1024 * 1024)} MiB limit`;
    default:
      return error.message;
  }
}
