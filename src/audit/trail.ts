// Everything that happens after a decision, off the answer's critical path: the audit line on
// stdout, the audit file, the ring behind /audit/recent, the metrics and the Event. Each sink is
// optional; none of them can throw into the request.
import type { DecodedPdbChange } from '../admission/decode';
import type { EvictionAttempt, Verdict } from '../domain';
import type { AuditFile } from './audit-file';
import type { DenialMetrics } from './denial-metrics';
import type { EventRecorder } from './events';
import { isoNow, withoutRedaction, type Logger } from './logger';
import type { WebhookMetrics } from './metrics';
import { auditRecord, type AuditRecord, type DecisionContext } from './record';
import type { RecentDecisions } from './recent';
import type { SideEffectGuard } from '../security/side-effects';

export const MSG_ALLOWED = 'eviction allowed';
export const MSG_DENIED = 'eviction denied';

/** One line of the audit file and one item of /audit/recent: the stdout audit line's time, msg and audit fields. */
export interface AuditEntry {
  /** ISO 8601, UTC, milliseconds. */
  time: string;
  msg: typeof MSG_ALLOWED | typeof MSG_DENIED;
  audit: AuditRecord;
}

export interface DecisionTrailSinks {
  logger: Logger;
  metrics?: WebhookMetrics;
  denials?: DenialMetrics;
  events?: EventRecorder;
  file?: AuditFile;
  recent?: RecentDecisions;
  /** Decides whether a decision may write its Event; absent: every decision may. */
  sideEffects?: SideEffectGuard;
}

export class DecisionTrail {
  private readonly auditLog: Logger;

  constructor(private readonly sinks: DecisionTrailSinks) {
    this.auditLog = withoutRedaction(sinks.logger);
  }

  /** Audits one answered eviction; `durationSeconds` is what the admission histogram observes. */
  record(attempt: EvictionAttempt, verdict: Verdict, context: DecisionContext, durationSeconds = context.latencyMs / 1000): void {
    const { metrics, denials, events, file, recent, sideEffects } = this.sinks;
    const audit = auditRecord(attempt, verdict, context);
    const msg = verdict.allowed ? MSG_ALLOWED : MSG_DENIED;
    this.auditLog.info({ audit }, msg);
    const entry: AuditEntry = { time: isoNow(), msg, audit };
    recent?.add(entry);
    file?.write(entry);
    metrics?.observeDecision(verdict, attempt.dryRun, durationSeconds);
    if (context.reservation) metrics?.observeReservation(context.reservation);
    denials?.observe(attempt, verdict);
    // Never on dryRun (design.md): eventFor() checks it too, as the recorder can be used alone.
    if (attempt.dryRun || events === undefined || !events.wouldRecord(attempt, verdict)) return;
    if (sideEffects === undefined) {
      events.record(attempt, verdict, context.podUid);
    } else if (sideEffects.isBelievable('event', attempt, context.podUid, context.origin)) {
      events.record(attempt, verdict, context.podUid, () => sideEffects.admit('event', context.origin));
    }
  }

  /** Audits one PDB change the PDB guard answered: a log line and the metrics. */
  recordPdbChange(change: DecodedPdbChange, verdict: Verdict): void {
    const { logger, metrics } = this.sinks;
    const pdbGuard = {
      uid: change.uid,
      user: change.requester.username,
      operation: change.operation,
      pdb: `${change.namespace}/${change.name}`,
      dryRun: change.dryRun,
      allowed: verdict.allowed,
      checks: verdict.findings.map((finding) => finding.check),
      pdbs: verdict.pdbs,
    };
    const msg = !verdict.allowed ? 'PDB change denied' : verdict.findings.length > 0 ? 'PDB change allowed with warnings' : 'PDB change allowed';
    logger.info({ pdbGuard }, msg);
    metrics?.observePdbReview(verdict);
  }
}
