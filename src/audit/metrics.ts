// Prometheus metrics of one webhook. Each WebhookMetrics has its own Registry (never prom-client's
// global one), so tests and embedders can run several webhooks in one process. Label values are
// bounded: decisions, HTTP codes, check ids (policy check ids carry policy and rule names, bounded
// by configuration) and resource names; never pod, node or user names.
import { X509Certificate } from 'node:crypto';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Verdict } from '../domain';
import { RESERVATION_RESULTS, type ReservationOutcome } from '../reservation/reserver';

/**
 * Sub-millisecond (a cached allow) to the API server's 5 s default webhook timeout: a decision
 * answered from the index takes well under a millisecond, a confirm read a few, and anything over
 * the 2 s API timeout is a read that timed out.
 */
export const ADMISSION_DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/** What an Event write did, for evictionguard_event_writes_total. */
export type EventWriteVerb = 'create' | 'patch';

/**
 * The process metrics (CPU, memory, heap, event loop lag, GC, file descriptors) describe the
 * process, not one webhook, and prom-client's collectors (a GC observer, an event loop delay
 * monitor) cannot be stopped once started: they are made once and merged into every scrape.
 */
let processRegistry: Registry | undefined;

function defaultProcessRegistry(): Registry {
  if (processRegistry === undefined) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

/**
 * Per-label-set counts kept in a Map on the request path and handed to prom-client when it is
 * scraped: prom-client's inc() builds a hash of the labels and checks every label name on each call,
 * several µs per decision for counts nobody reads until the next scrape.
 */
class ScrapedCounts<L extends string> {
  private readonly counts = new Map<string, { labels: Record<L, string>; value: number }>();

  /** Counts one for the label set `key` names; `labels` builds it the first time. */
  add(key: string, labels: () => Record<L, string>): void {
    const entry = this.counts.get(key);
    if (entry === undefined) this.counts.set(key, { labels: labels(), value: 1 });
    else entry.value++;
  }

  /** For the counter's collect(): its values become these counts. */
  publishTo(counter: Counter<L>): void {
    counter.reset();
    for (const { labels, value } of this.counts.values()) counter.inc(labels, value);
  }
}

/** The notAfter of the first certificate of a PEM chain. */
export function certificateNotAfter(pem: string | Buffer): Date {
  return new Date(new X509Certificate(pem).validTo);
}

export class WebhookMetrics {
  /** This webhook's own metrics; scrape() adds the process metrics. */
  readonly registry = new Registry();

  private readonly decisionCounts = new ScrapedCounts<'decision' | 'code' | 'dry_run'>();
  private readonly admissionRequests: Counter<'decision' | 'code' | 'dry_run'> = new Counter({
    name: 'evictionguard_admission_requests_total',
    help: 'Eviction admission reviews answered, by decision (allow|deny), HTTP code (200 for an allow) and dry run.',
    labelNames: ['decision', 'code', 'dry_run'] as const,
    registers: [this.registry],
    collect: (): void => this.decisionCounts.publishTo(this.admissionRequests),
  });

  private readonly findingCounts = new ScrapedCounts<'check' | 'action'>();
  private readonly findings: Counter<'check' | 'action'> = new Counter({
    name: 'evictionguard_findings_total',
    help: 'Findings of eviction decisions, by check id (pdb/budget, policy/<name>/<rule>, ...) and action (deny|warn|audit).',
    labelNames: ['check', 'action'] as const,
    registers: [this.registry],
    collect: (): void => this.findingCounts.publishTo(this.findings),
  });

  private readonly pdbReviews = new Counter({
    name: 'evictionguard_pdb_guard_reviews_total',
    help: 'PodDisruptionBudget CREATE/UPDATE reviews answered by the PDB guard, by decision (allow|warn|deny).',
    labelNames: ['decision'] as const,
    registers: [this.registry],
  });

  private readonly admissionDuration = new Histogram({
    name: 'evictionguard_admission_duration_seconds',
    help: 'Time from a decoded eviction review to its verdict: cluster reads, live confirmation and decision.',
    buckets: ADMISSION_DURATION_BUCKETS,
    registers: [this.registry],
  });

  private readonly clusterSynced: Gauge = new Gauge({
    name: 'evictionguard_cluster_synced',
    help: '1 when every watched resource has completed its initial list (the webhook is ready), else 0.',
    registers: [this.registry],
    // Read at scrape time, so the value is never stale.
    collect: (): void => this.clusterSynced.set(this.isSynced() ? 1 : 0),
  });

  private readonly watchRestarts = new Counter({
    name: 'evictionguard_watch_restarts_total',
    help: 'Watches that ended or whose list failed and were restarted, by resource.',
    labelNames: ['resource'] as const,
    registers: [this.registry],
  });

  private readonly policyErrors = new Counter({
    name: 'evictionguard_policy_errors_total',
    help: 'Policy rules that could not be evaluated (e.g. a CEL expression that failed at run time).',
    registers: [this.registry],
  });

  private readonly certExpiry = new Gauge({
    name: 'evictionguard_cert_expiry_timestamp_seconds',
    help: 'notAfter of the serving certificate new connections get, as a Unix timestamp.',
    registers: [this.registry],
  });

  private readonly eventsDropped = new Counter({
    name: 'evictionguard_events_dropped_total',
    help: 'Kubernetes Events dropped before they were written because the Event queue was full.',
    registers: [this.registry],
  });

  private readonly eventWrites = new Counter({
    name: 'evictionguard_event_writes_total',
    help: 'Kubernetes Event writes, by verb (create|patch) and result (success|error).',
    labelNames: ['verb', 'result'] as const,
    registers: [this.registry],
  });

  private readonly reservations = new Counter({
    name: 'evictionguard_reservations_total',
    help: 'Reservation steps of allowed evictions that counting rules claim, by result (reserved|held|denied|dry-run|skipped|failed).',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  private readonly reservationConflicts = new Counter({
    name: 'evictionguard_reservation_conflicts_total',
    help: 'Reservation writes refused with 409 Conflict because another eviction wrote the record first; each was read and decided again.',
    registers: [this.registry],
  });

  private isSynced: () => boolean = () => false;

  constructor(private readonly processMetrics: Registry = defaultProcessRegistry()) {
    // Initialised so that dashboards and `rate()` see the series from the first scrape.
    this.policyErrors.inc(0);
    this.eventsDropped.inc(0);
    this.reservationConflicts.inc(0);
    for (const result of RESERVATION_RESULTS) this.reservations.inc({ result }, 0);
  }

  /** Reads the cluster's sync state at each scrape. */
  trackClusterSync(isSynced: () => boolean): void {
    this.isSynced = isSynced;
  }

  /** One answered eviction review: its decision, its findings and how long deciding took. */
  observeDecision(verdict: Verdict, dryRun: boolean, durationSeconds: number): void {
    const decision = verdict.allowed ? 'allow' : 'deny';
    const code = String(verdict.status?.code ?? 200);
    this.decisionCounts.add(`${decision} ${code} ${dryRun}`, () => ({ decision, code, dry_run: String(dryRun) }));
    this.countFindings(verdict);
    for (const finding of verdict.findings) if (finding.evaluationFailed) this.countPolicyError();
    this.admissionDuration.observe(durationSeconds);
  }

  /** The reservation step of one eviction. */
  observeReservation(outcome: ReservationOutcome): void {
    this.reservations.inc({ result: outcome.result });
    this.reservationConflicts.inc(outcome.conflicts);
  }

  /** One PDB change the guard answered; its findings count with the evictions' (check pdb-guard/...). */
  observePdbReview(verdict: Verdict): void {
    this.pdbReviews.inc({ decision: !verdict.allowed ? 'deny' : verdict.warnings.length > 0 ? 'warn' : 'allow' });
    this.countFindings(verdict);
  }

  private countFindings(verdict: Verdict): void {
    for (const { check, action } of verdict.findings) this.findingCounts.add(`${action} ${check}`, () => ({ check, action }));
  }

  /** For ReflectorEvents.onWatchRestart. */
  countWatchRestart(resource: string): void {
    this.watchRestarts.inc({ resource });
  }

  /** For the policy engine: a rule that could not be evaluated. */
  countPolicyError(): void {
    this.policyErrors.inc();
  }

  /** The serving certificate's expiry; call at startup and whenever the serving pair rotates. */
  setCertExpiry(notAfter: Date): void {
    this.certExpiry.set(notAfter.getTime() / 1000);
  }

  /** setCertExpiry from a PEM certificate (chain): its first certificate's notAfter. */
  setCertExpiryFromPem(pem: string | Buffer): void {
    this.setCertExpiry(certificateNotAfter(pem));
  }

  countEventsDropped(count = 1): void {
    this.eventsDropped.inc(count);
  }

  countEventWrite(verb: EventWriteVerb, ok: boolean): void {
    this.eventWrites.inc({ verb, result: ok ? 'success' : 'error' });
  }

  /** The Prometheus text exposition of this webhook's and the process's metrics. */
  async scrape(): Promise<{ contentType: string; body: string }> {
    const merged = Registry.merge([this.processMetrics, this.registry]);
    return { contentType: merged.contentType, body: await merged.metrics() };
  }
}
