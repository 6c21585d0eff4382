// `eviction-guard lint`: the PDBs that will fail an eviction or hang a drain, in a cluster, a
// snapshot or manifest files.
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { LOG_LEVELS, type LogLevel, type Logger } from '../audit/logger';
import { describeError } from '../cluster/errors';
import type { ClusterInventory } from '../cluster/inventory';
import { SnapshotClusterView } from '../cluster/snapshot';
import { clip } from '../pdb/explain';
import { lintInventory, worstSeverity, type LintFinding } from '../lint/pdb-lint';
import { lintReportOf, type LintReport } from '../lint/report';
import { clusterSourceName, withSyncedCluster, type ClusterChoice } from './cluster';
import { parseOutputFormat, renderTable, type OutputFormat } from './render';
import { runReportCommand } from './report-command';
import { EXIT, parseChoice, parseFlags, parseSeconds, UsageError } from './usage';

export type { LintReport } from '../lint/report';

export const LINT_USAGE = `Usage: eviction-guard lint [FILE|DIR...] [flags]

Finds PodDisruptionBudgets that make evictions fail or drains hang: overlapping PDBs, PDBs that can
never allow a disruption, PDBs that select no pods, maxUnavailable or percentages over pods without a
scalable controller, invalid or legacy selectors, and workloads with several replicas and no PDB.
FILEs are manifests (YAML/JSON, several documents, kind: List); a DIR is read for *.yaml, *.yml and
*.json. Without FILEs: the cluster (or --snapshot).

Flags:
  --kubeconfig FILE     cluster to read (default: in-cluster, $KUBECONFIG, ~/.kube/config)
  --snapshot FILE       a dump: kubectl get pods,pdb,rs,deploy,sts,ns -A -o yaml
                        With no FILE, cluster or snapshot, the built-in demo cluster is read.
  -o, --output FORMAT   table|json|yaml (default table)
  --timeout SECONDS     how long to wait for the cluster to be listed (default 30)
  --log-level LEVEL     ${LOG_LEVELS.join('|')} (default warn), on stderr
  -h, --help            show this help

Exit codes: 0 no finding above info, 1 the worst is a warning, 3 the worst is an error,
2 usage error, 4 the cluster or files could not be read.`;

export interface LintOptions extends ClusterChoice {
  files: string[];
  output: OutputFormat;
  timeoutMs: number;
  logLevel: LogLevel;
}

export function parseLintOptions(argv: string[]): LintOptions | 'help' {
  const { values, positionals } = parseFlags(
    argv,
    {
      kubeconfig: { type: 'string' },
      snapshot: { type: 'string' },
      output: { type: 'string', short: 'o' },
      timeout: { type: 'string' },
      'log-level': { type: 'string' },
    },
    LINT_USAGE,
    true,
  );
  if (values.help) return 'help';
  const sources = [values.kubeconfig !== undefined, values.snapshot !== undefined, positionals.length > 0].filter(Boolean).length;
  if (sources > 1) throw new UsageError('give one source: FILEs, --kubeconfig or --snapshot', LINT_USAGE);
  return {
    files: positionals,
    kubeconfig: values.kubeconfig as string | undefined,
    snapshot: values.snapshot as string | undefined,
    output: parseOutputFormat(values.output as string | undefined, LINT_USAGE),
    timeoutMs: parseSeconds(values.timeout, 30, '--timeout', LINT_USAGE),
    logLevel: parseChoice(values['log-level'], 'warn', LOG_LEVELS, '--log-level', LINT_USAGE),
  };
}

const MANIFEST_EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

/** The files named, with directories expanded to their manifests (recursively, sorted). */
export function manifestFiles(paths: readonly string[]): string[] {
  const files: string[] = [];
  const visit = (entry: string, named: boolean) => {
    let stats;
    try {
      stats = statSync(entry);
    } catch (error) {
      throw new Error(`cannot read ${entry}: ${describeError(error)}`);
    }
    if (stats.isDirectory()) {
      for (const child of readdirSync(entry).sort()) visit(path.join(entry, child), false);
    } else if (named || MANIFEST_EXTENSIONS.has(path.extname(entry))) {
      files.push(entry);
    }
  };
  for (const entry of paths) visit(entry, true);
  return files;
}

export function lintReport(inventory: ClusterInventory, source: string): LintReport {
  return lintReportOf(lintInventory(inventory), inventory, source);
}

const MESSAGE_WIDTH = 90;

export function renderLintTable(report: LintReport): string {
  if (report.findings.length === 0) return `${report.summary}\n`;
  const objectOf = (finding: LintFinding) => `${finding.kind}/${finding.namespace}/${finding.name}`;
  const table = renderTable(
    ['SEVERITY', 'CHECK', 'OBJECT', 'MESSAGE'],
    report.findings.map((finding) => [finding.severity.toUpperCase(), finding.check, objectOf(finding), clip(finding.message, MESSAGE_WIDTH)]),
  );
  const details = ['Details:', ...report.findings.flatMap((finding) => [`  ${objectOf(finding)}: ${finding.message}`, `    Fix: ${finding.hint}`])].join('\n');
  return `${[table, details, report.summary].join('\n\n')}\n`;
}

export function lintExitCode(report: LintReport): number {
  const worst = worstSeverity(report.findings);
  return worst === 'error' ? EXIT.lintError : worst === 'warning' ? EXIT.problem : EXIT.ok;
}

async function readInventory(options: LintOptions, logger: Logger): Promise<{ inventory: ClusterInventory; source: string }> {
  if (options.files.length > 0) {
    const files = manifestFiles(options.files);
    if (files.length === 0) throw new Error(`no manifest files (*.yaml, *.yml, *.json) in ${options.files.join(', ')}`);
    const view = SnapshotClusterView.fromFiles(files, 'snapshot', { logger });
    return { inventory: view.inventory(), source: files.length === 1 ? files[0] : `${files.length} files` };
  }
  return withSyncedCluster(options, options.timeoutMs, logger, async (view) => ({ inventory: view.inventory(), source: clusterSourceName(view, options) }));
}

export function runLint(argv: string[]): Promise<number> {
  return runReportCommand(
    {
      name: 'lint',
      usage: LINT_USAGE,
      parse: parseLintOptions,
      build: async (options, logger) => {
        const { inventory, source } = await readInventory(options, logger);
        return lintReport(inventory, source);
      },
      table: renderLintTable,
      exitCode: lintExitCode,
    },
    argv,
  );
}
