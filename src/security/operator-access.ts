// The one middleware in front of every operator-only route: /audit/recent, /readyz/details and
// whatever else reveals cluster data beyond a probe's status. With a cluster, the caller is whoever
// the API server says their bearer token belongs to, allowed what RBAC allows them (DelegatedAccess).
// Without one (demo or snapshot mode) there is nobody to ask, so only loopback callers are answered:
// a process in the same pod, or `kubectl port-forward`, which itself needs pods/portforward.
import type { Request, RequestHandler, Response } from 'express';
import type { Logger } from '../audit/logger';
import type { AccessDecision } from './delegated-access';
import type { DelegatedAccess } from './delegated-access';
import type { SecurityMetrics } from './metrics';

export interface OperatorCaller {
  /** The bearer token, when the request sent one. */
  token?: string;
  path: string;
  remoteAddress?: string;
}

export interface OperatorGate {
  /** How callers are admitted, for the start-up log. */
  readonly mode: 'delegated' | 'loopback';
  admit(caller: OperatorCaller): Promise<AccessDecision>;
}

export function delegatedGate(access: DelegatedAccess): OperatorGate {
  return { mode: 'delegated', admit: (caller) => access.decide(caller.token, caller.path) };
}

/** 127.0.0.0/8 and ::1, also as IPv4-mapped IPv6 addresses (a dual-stack listener reports those). */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (address === undefined) return false;
  const v4 = address.startsWith('::ffff:') ? address.slice('::ffff:'.length) : address;
  return v4 === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4);
}

export function loopbackGate(): OperatorGate {
  return {
    mode: 'loopback',
    admit: async (caller) =>
      isLoopbackAddress(caller.remoteAddress)
        ? { outcome: 'allowed', user: 'loopback' }
        : { outcome: 'forbidden', user: 'anonymous', reason: 'there is no cluster to authorize against (demo or snapshot mode): only loopback callers are answered' },
  };
}

/**
 * The token of `Authorization: Bearer <token>` (RFC 6750; the scheme is case-insensitive).
 * Undefined without the header; null when the header is there but holds no bearer token.
 */
export function bearerToken(header: string | undefined): string | undefined | null {
  if (header === undefined) return undefined;
  const match = /^Bearer +(\S+) *$/i.exec(header);
  return match === null ? null : match[1];
}

export interface OperatorOnlyOptions {
  logger: Logger;
  metrics?: SecurityMetrics;
}

const RETRY_AFTER_SECONDS = '1';

export function operatorOnly(gate: OperatorGate, options: OperatorOnlyOptions): RequestHandler {
  const { logger, metrics } = options;
  return async (req: Request, res: Response, next) => {
    const token = bearerToken(req.headers.authorization);
    // The route's own path, not the request's: express also routes /AUDIT/RECENT/ here, and RBAC
    // must be asked about the one URL the reader role names.
    const path = typeof req.route?.path === 'string' ? req.route.path : req.path;
    const decision: AccessDecision =
      token === null
        ? { outcome: 'unauthenticated', problem: 'the Authorization header is not "Bearer <token>"' }
        : await gate.admit({ token, path, remoteAddress: req.socket.remoteAddress });
    metrics?.countOperatorRequest(decision.outcome);
    res.set('Cache-Control', 'no-store');
    switch (decision.outcome) {
      case 'allowed':
        logger.debug({ user: decision.user, path }, 'operator request allowed');
        next();
        return;
      case 'unauthenticated':
        logger.debug({ path, problem: decision.problem, remoteAddress: req.socket.remoteAddress }, 'operator request refused: unauthenticated');
        res.set('WWW-Authenticate', 'Bearer realm="eviction-guard"');
        res.status(401).json({ error: `Unauthorized: ${decision.problem}. Send "Authorization: Bearer <token>" (e.g. from kubectl create token)` });
        return;
      case 'forbidden':
        logger.debug({ user: decision.user, path, remoteAddress: req.socket.remoteAddress }, 'operator request refused: forbidden');
        // The API server's own wording for a non-resource URL (k8s.io/apiserver responsewriters.forbiddenMessage).
        res.status(403).json({ error: `forbidden: User "${decision.user}" cannot get path "${path}"${decision.reason ? `: ${decision.reason}` : ''}` });
        return;
      case 'busy':
        logger.warn({ path, problem: decision.problem }, 'operator request refused: too many access reviews in flight');
        res.set('Retry-After', RETRY_AFTER_SECONDS);
        res.status(429).json({ error: 'too many requests are being authorized right now; retry shortly' });
        return;
      case 'unavailable':
        // The reason (e.g. the webhook lacks RBAC for tokenreviews) is for the operator's log, not the caller.
        logger.warn({ path, problem: decision.problem }, 'operator request refused: the API server could not review the caller');
        res.set('Retry-After', RETRY_AFTER_SECONDS);
        res.status(503).json({ error: 'cannot verify the caller with the API server right now; retry shortly' });
        return;
    }
  };
}
