// The `serve` flags and wiring of who may call the webhook (--client-ca, --client-name), who may read
// its operator endpoints (delegated to the API server, or loopback only without one), and which
// decisions may write into the cluster. Kept apart from serve.ts like observability.ts.
import { readFileSync } from 'node:fs';
import type { RequestHandler } from 'express';
import type { Logger } from '../audit/logger';
import type { WebhookMetrics } from '../audit/metrics';
import { LiveClusterView } from '../cluster/live';
import { OPERATOR_ROUTES } from '../server/app';
import type { ClusterView } from '../cluster/view';
import { describeError } from '../cluster/errors';
import { kubeAccessReviews } from '../security/access-review';
import { requireClientCertificate } from '../security/client-certificate';
import { DelegatedAccess, type DelegatedAccessOptions } from '../security/delegated-access';
import { SecurityMetrics } from '../security/metrics';
import { delegatedGate, loopbackGate, operatorOnly, type OperatorGate } from '../security/operator-access';
import { SideEffectGuard, type RateLimit } from '../security/side-effects';
import { UsageError } from './usage';

/** Where docs/security.md is, for the start-up warning (the image ships no docs; the repository has them). */
export const SECURITY_DOCS = 'https://github.com/eviction-guard/eviction-guard/blob/main/docs/security.md';

export const SECURITY_USAGE = `  --client-ca FILE      PEM CA certificate(s): /validate answers only callers with a client certificate
                        signed by one of them (mTLS), such as kube-apiserver with a kubeconfig for the
                        webhook in its AdmissionConfiguration; others get 401 and no decision. Probes
                        need no certificate. The file is watched and reloaded like the serving pair.
  --client-name NAME    with --client-ca: the client certificate's CN or a DNS/IP SAN must also be
                        NAME; repeatable (any of them)`;

export const SECURITY_FLAGS = {
  'client-ca': { type: 'string' },
  'client-name': { type: 'string', multiple: true },
} as const;

export interface SecurityOptions {
  /** `--client-ca`: mTLS on /validate. */
  clientCa?: string;
  /** `--client-name` (repeatable; needs --client-ca). */
  clientNames?: string[];
  /** Tuning (tests, bench); not flags. */
  sideEffectRate?: RateLimit;
  accessCache?: Pick<DelegatedAccessOptions, 'ttlMs' | 'maxEntries' | 'maxInFlight'>;
}

export function parseSecurityOptions(values: Record<string, unknown>, usage: string): SecurityOptions {
  const clientCa = values['client-ca'] as string | undefined;
  const clientNames = (values['client-name'] as string[] | undefined) ?? [];
  if (clientCa === '') throw new UsageError('--client-ca needs a file of PEM CA certificates', usage);
  if (clientNames.length > 0 && clientCa === undefined) throw new UsageError('--client-name needs --client-ca: names are read from verified client certificates', usage);
  if (clientNames.some((name) => name.trim() === '')) throw new UsageError('--client-name needs a name, e.g. kube-apiserver', usage);
  return { clientCa, clientNames };
}

/** The client CA file's PEM; a clear error naming the file when it cannot be read. */
export function readClientCa(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new Error(`cannot read --client-ca ${file}: ${describeError(error)}`, { cause: error });
  }
}

export interface Security {
  /** AppDeps.verifyCaller; undefined without --client-ca. */
  verifyCaller: RequestHandler | undefined;
  /** AppDeps.operatorAccess. */
  operatorAccess: RequestHandler;
  sideEffects: SideEffectGuard;
  gate: OperatorGate;
  /** Releases the access reviews' connections. */
  close(): void;
}

/**
 * Chooses how operator endpoints are admitted: by the API server (TokenReview, then
 * SubjectAccessReview) when there is a cluster, else loopback callers only (demo, snapshot).
 * Logs the choice, and warns once when /validate callers are not authenticated.
 */
export function createSecurity(options: SecurityOptions, context: { view: ClusterView; metrics: WebhookMetrics; logger: Logger }): Security {
  const { view, logger } = context;
  const metrics = new SecurityMetrics(context.metrics.registry);
  const mtls = options.clientCa !== undefined;
  const reviews = view instanceof LiveClusterView ? kubeAccessReviews(view.kubeConfig) : undefined;
  const gate = reviews === undefined ? loopbackGate() : delegatedGate(new DelegatedAccess({ reviews, ...options.accessCache }));
  if (gate.mode === 'delegated') {
    logger.info({ operatorAccess: gate.mode, routes: OPERATOR_ROUTES }, 'operator endpoints answer bearer tokens whose user RBAC allows get on the path');
  } else {
    logger.info({ operatorAccess: gate.mode, routes: OPERATOR_ROUTES }, 'operator endpoints answer loopback callers only: there is no API server to authorize against');
  }
  if (mtls) {
    logger.info({ clientCa: options.clientCa, clientNames: options.clientNames ?? [] }, 'mTLS on /validate: callers need a client certificate signed by --client-ca');
  } else {
    logger.warn(
      { docs: SECURITY_DOCS },
      'mTLS is off (no --client-ca): /validate answers any caller that can reach the port and audits its reviews as "unauthenticated"; see docs/security.md',
    );
  }
  return {
    verifyCaller: mtls ? requireClientCertificate({ names: options.clientNames ?? [], logger, metrics }) : undefined,
    operatorAccess: operatorOnly(gate, { logger, metrics }),
    sideEffects: new SideEffectGuard({ requireAuthenticatedCaller: mtls, rate: options.sideEffectRate, metrics }),
    gate,
    close: () => reviews?.release(),
  };
}
