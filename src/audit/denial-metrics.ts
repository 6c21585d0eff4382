// Denials, for the dashboard and for the "drain stuck" alert:
// - evictionguard_denials_total{pod_namespace,check}: denied evictions by the pod's namespace and the
//   check that denied. Not `namespace`: Prometheus renames a scraped label that clashes with a
//   target label (namespace, under the Prometheus Operator) to exported_namespace. Namespaces are
//   bounded: past MAX_NAMESPACE_LABELS distinct ones, the rest count under pod_namespace="_other"
//   (not a valid namespace name, so it never collides with one).
// - evictionguard_denial_streak_pods and evictionguard_denial_streak_max_seconds: pods whose
//   evictions keep being denied, and how long the longest such streak has lasted. A drain stuck on
//   a pod is a streak that grows: kubectl drain retries a refused eviction every 5 s for ever.
//   No pod is named in a label; the tracker holds at most MAX_TRACKED_PODS pods.
// Dry runs (kubectl drain --dry-run=server, `eviction-guard check`) evict nothing and count nowhere here.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { EvictionAttempt, Verdict } from '../domain';

/** A pod not asked about for this long is not being drained any more: its streak ends. */
export const STREAK_IDLE_MS = 10 * 60_000;
export const MAX_TRACKED_PODS = 10_000;
export const MAX_NAMESPACE_LABELS = 200;
export const OTHER_NAMESPACES = '_other';

interface Streak {
  firstDeniedAt: number;
  lastDeniedAt: number;
}

export interface StreakSummary {
  /** Pods with a streak of denials (the last within the idle window). */
  pods: number;
  /** From the first to the latest denial of the longest streak, in seconds; 0 with no streak. */
  longestSeconds: number;
}

/**
 * Streaks of denied evictions per pod: a denial starts or extends its pod's streak, an allow ends
 * it, and so does STREAK_IDLE_MS without an attempt. A streak's length runs to its latest denial,
 * not to now: a pod evicted through another replica stops growing here, and drops out when idle.
 * Times are passed in, so the bookkeeping is plain data.
 */
export class DenialStreaks {
  /** Least recently denied first (a denial moves its pod to the end), so expiry and eviction take from the front. */
  private readonly streaks = new Map<string, Streak>();

  constructor(
    private readonly idleMs = STREAK_IDLE_MS,
    private readonly capacity = MAX_TRACKED_PODS,
  ) {}

  get size(): number {
    return this.streaks.size;
  }

  record(pod: string, allowed: boolean, now: number): void {
    const streak = this.streaks.get(pod);
    if (allowed) {
      if (streak !== undefined) this.streaks.delete(pod);
      return;
    }
    const continues = streak !== undefined && now - streak.lastDeniedAt <= this.idleMs;
    this.streaks.delete(pod);
    this.streaks.set(pod, { firstDeniedAt: continues ? streak.firstDeniedAt : now, lastDeniedAt: now });
    if (this.streaks.size > this.capacity) this.streaks.delete(this.streaks.keys().next().value!);
  }

  summary(now: number): StreakSummary {
    for (const [pod, streak] of this.streaks) {
      if (now - streak.lastDeniedAt <= this.idleMs) break;
      this.streaks.delete(pod);
    }
    let longestMs = 0;
    for (const streak of this.streaks.values()) longestMs = Math.max(longestMs, streak.lastDeniedAt - streak.firstDeniedAt);
    return { pods: this.streaks.size, longestSeconds: longestMs / 1000 };
  }
}

export class DenialMetrics {
  private readonly denials: Counter<'pod_namespace' | 'check'>;
  private readonly namespaces = new Set<string>();

  constructor(
    registry: Registry,
    private readonly now: () => number = Date.now,
    private readonly streaks = new DenialStreaks(),
  ) {
    this.denials = new Counter({
      name: 'evictionguard_denials_total',
      help: `Denied evictions (not dry runs) by the pod's namespace and the check that denied (one per denying check). Past ${MAX_NAMESPACE_LABELS} namespaces, the rest count as pod_namespace="${OTHER_NAMESPACES}".`,
      labelNames: ['pod_namespace', 'check'] as const,
      registers: [registry],
    });
    const summary = () => this.streaks.summary(this.now());
    const podsGauge: Gauge = new Gauge({
      name: 'evictionguard_denial_streak_pods',
      help: `Pods whose every eviction attempt has been denied since the first, the latest within ${STREAK_IDLE_MS / 60_000} minutes.`,
      registers: [registry],
      collect: () => podsGauge.set(summary().pods),
    });
    const longestGauge: Gauge = new Gauge({
      name: 'evictionguard_denial_streak_max_seconds',
      help: 'How long the longest of those streaks has lasted, from its first denial to its latest, in seconds (0 with none): a drain stuck on a pod.',
      registers: [registry],
      collect: () => longestGauge.set(summary().longestSeconds),
    });
  }

  observe(attempt: EvictionAttempt, verdict: Verdict): void {
    // Most answers are allows with no streak to end: skip building the key for them.
    if (attempt.dryRun || (verdict.allowed && this.streaks.size === 0)) return;
    this.streaks.record(`${attempt.namespace}/${attempt.podName}`, verdict.allowed, this.now());
    if (verdict.allowed) return;
    const podNamespace = this.namespaceLabel(attempt.namespace);
    for (const finding of verdict.findings) if (finding.action === 'deny') this.denials.inc({ pod_namespace: podNamespace, check: finding.check });
  }

  private namespaceLabel(namespace: string): string {
    if (this.namespaces.has(namespace)) return namespace;
    if (this.namespaces.size >= MAX_NAMESPACE_LABELS) return OTHER_NAMESPACES;
    this.namespaces.add(namespace);
    return namespace;
  }
}
