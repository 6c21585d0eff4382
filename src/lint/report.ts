// The lint report: findings with their tally, as `eviction-guard lint -o json` prints it and the
// webhook's GET /pdb-findings serves it.
import type { ClusterInventory } from '../cluster/inventory';
import type { LintFinding, Severity } from './pdb-lint';

export interface LintReport {
  source: string;
  counts: Record<Severity, number>;
  pdbs: number;
  workloads: number;
  findings: LintFinding[];
  summary: string;
}

/** The report of `findings` (sorted, from lintInventory or lintByNamespace) about `inventory`. */
export function lintReportOf(findings: LintFinding[], inventory: ClusterInventory, source: string): LintReport {
  const counts: Record<Severity, number> = { error: 0, warning: 0, info: 0 };
  for (const finding of findings) counts[finding.severity]++;
  const pdbs = inventory.pdbs().length;
  const workloads = inventory.workloads().filter((workload) => !(workload.kind === 'ReplicaSet' && workload.owner?.kind === 'Deployment')).length;
  const tally = `${counts.error} error(s), ${counts.warning} warning(s), ${counts.info} info`;
  const summary = `Linted ${pdbs} PDB(s) and ${workloads} workload(s) from ${source}: ${findings.length === 0 ? 'no findings' : tally}.`;
  return { source, counts, pdbs, workloads, findings, summary };
}
