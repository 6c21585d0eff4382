import { UNAUTHENTICATED, type EvictionAttempt, type FactSource, type RequestOrigin, type Verdict } from '../domain';
import type { ReservationOutcome } from '../reservation/reserver';

/** One audit line per eviction decision. Field names are documented in docs/operations.md ("Audit log"). */
export interface AuditRecord {
  uid: string;
  user: string;
  groups: string[];
  pod: string;
  node?: string;
  dryRun: boolean;
  allowed: boolean;
  code?: number;
  checks: { id: string; action: string; message: string }[];
  pdbs: string[];
  latencyMs: number;
  /** Where the facts came from: cache, live or snapshot; 'none' when they could not be read. */
  factSource: FactSource | 'none';
  /** True when a cached deny was re-checked against a live read. */
  confirmedLive: boolean;
  /** Who sent the review: its TLS client certificate's subject under --client-ca, else `unauthenticated`. */
  caller: string;
  /** The reservation step, when counting rules claimed slots for an allowed eviction. */
  reservation?: ReservationOutcome;
}

export interface DecisionContext {
  nodeName?: string;
  /** The pod's uid when it was read: the Event's involvedObject.uid. Not in the audit record. */
  podUid?: string;
  factSource: FactSource | 'none';
  confirmedLive: boolean;
  latencyMs: number;
  reservation?: ReservationOutcome;
  /** Where the review came from; undefined when the caller did not say (an unauthenticated caller). */
  origin?: RequestOrigin;
}

export function auditRecord(attempt: EvictionAttempt, verdict: Verdict, context: DecisionContext): AuditRecord {
  return {
    uid: attempt.uid,
    user: attempt.requester.username,
    groups: attempt.requester.groups,
    pod: `${attempt.namespace}/${attempt.podName}`,
    node: context.nodeName,
    dryRun: attempt.dryRun,
    allowed: verdict.allowed,
    code: verdict.status?.code,
    checks: verdict.findings.map((finding) => ({ id: finding.check, action: finding.action, message: finding.message })),
    pdbs: verdict.pdbs,
    latencyMs: Math.round(context.latencyMs * 1000) / 1000,
    factSource: context.factSource,
    confirmedLive: context.confirmedLive,
    caller: context.origin?.caller ?? UNAUTHENTICATED,
    ...(context.reservation ? { reservation: context.reservation } : {}),
  };
}
