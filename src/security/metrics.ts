// The security counters, registered in the webhook's own registry (audit/metrics.ts) so that one
// scrape shows them. Labels are bounded: outcomes and reasons from fixed lists, never a user,
// a token, a certificate subject or an address.
import { Counter, type Registry } from 'prom-client';
import type { AccessOutcome } from './delegated-access';

export type CertificateRefusal = 'missing' | 'untrusted' | 'name';
export type SideEffect = 'event' | 'reservation';
export type SideEffectSkip = 'pod-not-found' | 'uid-mismatch' | 'unauthenticated' | 'rate-limited';

export class SecurityMetrics {
  private readonly operatorRequests: Counter<'result'>;
  private readonly certificateRefusals: Counter<'reason'>;
  private readonly sideEffectsSkipped: Counter<'effect' | 'reason'>;

  constructor(registry: Registry) {
    this.operatorRequests = new Counter({
      name: 'evictionguard_operator_requests_total',
      help: 'Requests to operator-only endpoints (/audit/recent, /readyz/details, ...), by result (allowed|unauthenticated|forbidden|unavailable|busy).',
      labelNames: ['result'] as const,
      registers: [registry],
    });
    this.certificateRefusals = new Counter({
      name: 'evictionguard_client_certificate_refusals_total',
      help: '/validate requests refused under --client-ca, by reason (missing|untrusted|name): no decision, no audit line, no side effect.',
      labelNames: ['reason'] as const,
      registers: [registry],
    });
    this.sideEffectsSkipped = new Counter({
      name: 'evictionguard_side_effects_skipped_total',
      help: 'Events (and reservations) not written for a decision, by effect and reason (pod-not-found|uid-mismatch|unauthenticated|rate-limited).',
      labelNames: ['effect', 'reason'] as const,
      registers: [registry],
    });
    // Zero from the first scrape, so that rate() and alerts see the series before anything happens.
    this.certificateRefusals.inc({ reason: 'missing' }, 0);
    this.sideEffectsSkipped.inc({ effect: 'event', reason: 'rate-limited' }, 0);
  }

  countOperatorRequest(result: AccessOutcome): void {
    this.operatorRequests.inc({ result });
  }

  countCertificateRefusal(reason: CertificateRefusal): void {
    this.certificateRefusals.inc({ reason });
  }

  countSideEffectSkipped(effect: SideEffect, reason: SideEffectSkip): void {
    this.sideEffectsSkipped.inc({ effect, reason });
  }
}
