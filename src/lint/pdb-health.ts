// Continuous PDB health: the webhook lints its own cluster view with the rules of `eviction-guard
// lint`, off the request path: once the view is synced, every interval, and shortly after PDB
// changes. The last report backs GET /pdb-findings and the evictionguard_pdb_findings gauges.
// A pass lints one namespace at a time and yields to the event loop every few milliseconds, so an
// admission request never waits behind a whole-cluster lint.
import type { RequestHandler } from 'express';
import { performance } from 'node:perf_hooks';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { Logger } from '../audit/logger';
import type { ClusterView } from '../cluster/view';
import { compareFindings, lintByNamespace, type LintFinding } from './pdb-lint';
import { lintReportOf, type LintReport } from './report';

export const DEFAULT_PDB_LINT_INTERVAL_MS = 60_000;
/** A burst of PDB changes (a Helm release, a GitOps sync) is linted once, this long after the last change... */
const DEFAULT_DEBOUNCE_MS = 2_000;
/** ...but never later than this after the first, so that a steady trickle of changes cannot postpone the pass. */
const DEFAULT_MAX_DELAY_MS = 10_000;
/** Until the view has synced, a due pass is retried this often. */
const NOT_SYNCED_RETRY_MS = 1_000;
/** The longest stretch of linting between two yields to the event loop. */
const DEFAULT_SLICE_MS = 5;

export interface PdbHealthReport extends LintReport {
  /** When the pass finished (ISO 8601). */
  lintedAt: string;
  /** Time spent linting, without the time given back to requests between namespaces. */
  lintingMs: number;
  /** From the start of the pass to its end. */
  durationMs: number;
}

export interface PdbHealthOptions {
  logger: Logger;
  /** Called with every new report (the gauges). */
  onReport?(report: PdbHealthReport): void;
  intervalMs?: number;
  debounceMs?: number;
  maxDelayMs?: number;
  sliceMs?: number;
}

type LintedView = Pick<ClusterView, 'inventory' | 'isSynced'>;

export class PdbHealthMonitor {
  private readonly intervalMs: number;
  private readonly debounceMs: number;
  private readonly maxDelayMs: number;
  private readonly sliceMs: number;
  private view: LintedView | undefined;
  /** How reports name the cluster ("the cluster", "the demo cluster", a snapshot file). */
  private source = '';
  private latest: PdbHealthReport | undefined;
  private timer: NodeJS.Timeout | undefined;
  private periodicDueAt = 0;
  /** Set by a PDB change not linted yet: when it was first seen, and when its pass is due. */
  private change: { firstAt: number; dueAt: number } | undefined;
  private running: Promise<void> | undefined;
  private closed = false;

  constructor(private readonly options: PdbHealthOptions) {
    this.intervalMs = options.intervalMs ?? DEFAULT_PDB_LINT_INTERVAL_MS;
    this.debounceMs = options.debounceMs ?? DEFAULT_DEBOUNCE_MS;
    this.maxDelayMs = options.maxDelayMs ?? DEFAULT_MAX_DELAY_MS;
    this.sliceMs = options.sliceMs ?? DEFAULT_SLICE_MS;
  }

  /** Lints `view` as soon as it has synced, then every interval; reports name it `source`. */
  start(view: LintedView, source: string): void {
    this.view = view;
    this.source = source;
    this.periodicDueAt = Date.now();
    this.arm();
  }

  /** A PodDisruptionBudget was added, changed or deleted: lint again soon (debounced). */
  pdbsChanged(): void {
    if (this.closed || this.view === undefined) return;
    const now = Date.now();
    const firstAt = this.change?.firstAt ?? now;
    this.change = { firstAt, dueAt: Math.min(now + this.debounceMs, firstAt + this.maxDelayMs) };
    this.arm();
  }

  /** The last finished pass; undefined before the first. */
  report(): PdbHealthReport | undefined {
    return this.latest;
  }

  /** Stops the schedule; a pass in progress stops at its next yield. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** One timer, for whichever pass is due first; a pass in progress re-arms when it ends. */
  private arm(): void {
    if (this.closed || this.running !== undefined) return;
    clearTimeout(this.timer);
    const dueAt = Math.min(this.periodicDueAt, this.change?.dueAt ?? Infinity);
    this.timer = setTimeout(() => this.runDue(), Math.max(0, dueAt - Date.now()));
    this.timer.unref();
  }

  private runDue(): void {
    this.timer = undefined;
    const view = this.view!;
    if (!view.isSynced()) {
      // Half a list is not the cluster: findings from it would come and go as the list completes.
      this.periodicDueAt = Date.now() + NOT_SYNCED_RETRY_MS;
      this.arm();
      return;
    }
    this.change = undefined;
    this.running = this.lintPass(view).finally(() => {
      this.running = undefined;
      this.periodicDueAt = Date.now() + this.intervalMs;
      this.arm();
    });
  }

  private async lintPass(view: LintedView): Promise<void> {
    const { logger } = this.options;
    let report: PdbHealthReport | undefined;
    try {
      report = await this.lint(view);
    } catch (error) {
      logger.error({ err: error }, 'PDB lint pass failed: keeping the previous findings');
      return;
    }
    if (report === undefined) return;
    const previous = this.latest;
    this.latest = report;
    this.options.onReport?.(report);
    const changed = previous === undefined || JSON.stringify(previous.counts) !== JSON.stringify(report.counts);
    logger[changed ? 'info' : 'debug']({ pdbFindings: report.counts, lintingMs: report.lintingMs }, report.summary);
  }

  /** One pass, a namespace at a time; undefined when closed in the middle of it. */
  private async lint(view: LintedView): Promise<PdbHealthReport | undefined> {
    const started = performance.now();
    const inventory = view.inventory();
    const findings: LintFinding[] = [];
    let lintingMs = 0;
    let sliceStarted = started;
    for (const namespaceFindings of lintByNamespace(inventory)) {
      for (const finding of namespaceFindings) findings.push(finding);
      const now = performance.now();
      if (now - sliceStarted >= this.sliceMs) {
        lintingMs += now - sliceStarted;
        await yieldToEventLoop();
        if (this.closed) return undefined;
        sliceStarted = performance.now();
      }
    }
    findings.sort(compareFindings);
    const finished = performance.now();
    lintingMs += finished - sliceStarted;
    return {
      ...lintReportOf(findings, inventory, this.source),
      lintedAt: new Date().toISOString(),
      lintingMs: Math.round(lintingMs * 10) / 10,
      durationMs: Math.round((finished - started) * 10) / 10,
    };
  }
}

/** GET /pdb-findings: the last report, as `eviction-guard lint -o json` prints it, with when and how long. */
export function pdbFindingsHandler(monitor: Pick<PdbHealthMonitor, 'report'>): RequestHandler {
  return (_req, res) => {
    // Names of namespaces, PDBs and pods: never cached by anything between us and the caller.
    res.set('Cache-Control', 'no-store');
    const report = monitor.report();
    if (report === undefined) {
      res.status(503).json({ error: 'no PDB lint pass has finished yet: the first runs once the cluster view is synced' });
      return;
    }
    res.json(report);
  };
}
