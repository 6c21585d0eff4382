// The `serve --pdb-lint-interval` flag and the wiring of continuous PDB health
// (lint/pdb-health.ts): the monitor, its gauges and GET /pdb-findings.
import type { RequestHandler } from 'express';
import type { Logger } from '../audit/logger';
import type { WebhookMetrics } from '../audit/metrics';
import { PdbFindingsMetrics } from '../audit/pdb-findings-metrics';
import type { ReflectorEvents } from '../cluster/reflector';
import type { ClusterView } from '../cluster/view';
import { DEFAULT_PDB_LINT_INTERVAL_MS, PdbHealthMonitor, pdbFindingsHandler, type PdbHealthOptions } from '../lint/pdb-health';
import { clusterSourceName, type ClusterChoice } from './cluster';
import { UsageError, parseSeconds } from './usage';

const MIN_INTERVAL_MS = 1_000;

export const PDB_HEALTH_USAGE = `  --pdb-lint-interval SECONDS|off
                        lint the webhook's own view of the PDBs (the checks of "eviction-guard lint")
                        every SECONDS (default ${DEFAULT_PDB_LINT_INTERVAL_MS / 1000}, at least ${MIN_INTERVAL_MS / 1000}) and shortly after PDB changes,
                        for the evictionguard_pdb_findings gauges and GET /pdb-findings on the HTTPS
                        port; off: neither`;

export const PDB_HEALTH_FLAGS = { 'pdb-lint-interval': { type: 'string' } } as const;

export interface PdbHealthServeOptions {
  /** `--pdb-lint-interval` in ms (flag default 60 s); absent or 'off': no continuous lint. */
  pdbLintIntervalMs?: number | 'off';
  /** Tuning of the change debounce (tests); not a flag. */
  pdbLintTuning?: Pick<PdbHealthOptions, 'debounceMs' | 'maxDelayMs'>;
}

export function parsePdbHealthOptions(values: Record<string, unknown>, usage: string): PdbHealthServeOptions {
  const flag = values['pdb-lint-interval'];
  if (flag === 'off') return { pdbLintIntervalMs: 'off' };
  const intervalMs = parseSeconds(flag, DEFAULT_PDB_LINT_INTERVAL_MS / 1000, '--pdb-lint-interval', usage);
  if (intervalMs < MIN_INTERVAL_MS) throw new UsageError(`--pdb-lint-interval must be at least ${MIN_INTERVAL_MS / 1000} second or off, got "${String(flag)}"`, usage);
  return { pdbLintIntervalMs: intervalMs };
}

export interface PdbHealth {
  /** GET /pdb-findings. */
  handler: RequestHandler;
  /** For the cluster's watches: a PDB change schedules a pass. */
  clusterHooks: Pick<ReflectorEvents, 'onChange'>;
  start(view: ClusterView): void;
  close(): Promise<void>;
}

/** The continuous lint `options` ask for, or undefined when it is off. */
export function createPdbHealth(options: PdbHealthServeOptions & ClusterChoice, metrics: WebhookMetrics, logger: Logger): PdbHealth | undefined {
  const intervalMs = options.pdbLintIntervalMs;
  if (intervalMs === undefined || intervalMs === 'off') return undefined;
  const gauges = new PdbFindingsMetrics(metrics.registry);
  const monitor = new PdbHealthMonitor({ ...options.pdbLintTuning, intervalMs, logger, onReport: (report) => gauges.observe(report) });
  return {
    handler: pdbFindingsHandler(monitor),
    clusterHooks: {
      onChange: (resource) => {
        if (resource === 'poddisruptionbudgets') monitor.pdbsChanged();
      },
    },
    start: (view) => monitor.start(view, clusterSourceName(view, options)),
    close: () => monitor.close(),
  };
}
