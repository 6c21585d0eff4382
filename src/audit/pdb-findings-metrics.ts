// The gauges of continuous PDB health (lint/pdb-health.ts): how many findings of each check and
// severity the last lint pass had. Counts only: the objects are in GET /pdb-findings, never in a
// label, so the series are bounded by the lint checks (8) times the severities (3).
import { Gauge, type Registry } from 'prom-client';
import type { Severity } from '../lint/pdb-lint';

export interface LintPass {
  findings: readonly { check: string; severity: Severity }[];
  /** ISO 8601. */
  lintedAt: string;
  lintingMs: number;
}

export class PdbFindingsMetrics {
  private readonly findings: Gauge<'check' | 'severity'>;
  private readonly lastPass: Gauge;
  private readonly passDuration: Gauge;
  /** Series exported so far: one whose findings are all fixed goes to 0 rather than vanishing. */
  private readonly exported = new Map<string, { check: string; severity: Severity }>();

  constructor(registry: Registry) {
    this.findings = new Gauge({
      name: 'evictionguard_pdb_findings',
      help: 'PDB lint findings in the cluster at the last continuous lint pass, by check (lint/overlapping-pdbs, lint/never-allows, ...) and severity.',
      labelNames: ['check', 'severity'] as const,
      registers: [registry],
    });
    this.lastPass = new Gauge({
      name: 'evictionguard_pdb_lint_last_pass_timestamp_seconds',
      help: 'When the last continuous PDB lint pass finished, as a Unix timestamp (0 before the first).',
      registers: [registry],
    });
    this.passDuration = new Gauge({
      name: 'evictionguard_pdb_lint_duration_seconds',
      help: 'Time the last continuous PDB lint pass spent linting (without the pauses it left to admission requests).',
      registers: [registry],
    });
  }

  observe(pass: LintPass): void {
    const counts = new Map<string, number>();
    for (const { check, severity } of pass.findings) {
      const key = `${check}\0${severity}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
      if (!this.exported.has(key)) this.exported.set(key, { check, severity });
    }
    for (const [key, labels] of this.exported) this.findings.set(labels, counts.get(key) ?? 0);
    this.lastPass.set(Date.parse(pass.lintedAt) / 1000);
    // lintingMs has a tenth of a millisecond; keep the division from adding float noise to it.
    this.passDuration.set(Number((pass.lintingMs / 1000).toFixed(4)));
  }
}
