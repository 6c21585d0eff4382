// `eviction-guard check`: can I drain this node, and if not, why? Before the drain starts.
import { LOG_LEVELS, type LogLevel, type Logger } from '../audit/logger';
import { LiveClusterView } from '../cluster/live';
import type { Requester } from '../domain';
import type { DrainFlags } from '../drain/filters';
import { checkDrain, type DrainReport, type DrainScope, type PodCheck, type PodResult } from '../drain/preflight';
import { clip } from '../pdb/explain';
import { ENFORCEMENT_MODES, type EnforcementMode } from '../policy/engine';
import { startPolicyService, type PolicyService } from '../policy/service';
import { pollUntil, withSyncedCluster, type ClusterChoice } from './cluster';
import { parseOutputFormat, renderTable, type OutputFormat } from './render';
import { runReportCommand } from './report-command';
import { INSTALL_NAMESPACE, parseReservationNamespace, readReservations } from './reservations';
import { EXIT, parseChoice, parseFlags, parseSeconds, UsageError } from './usage';

export const CHECK_USAGE = `Usage: eviction-guard check (--node NAME... | --namespace NS | POD...) [flags]

Drain plan: for every pod a drain would touch, what kubectl drain's own filters do with it and what
its eviction gets (the webhook's PDB mirror and EvictionPolicies), in the order the drain sends
them, each planned eviction using up PDB budget and policy limits for the pods after it:
EVICT now, WAIT for earlier evictions to be replaced, BLOCKED (429 that waiting does not clear),
DENIED (403, 500), SKIP, REFUSED (a drain filter), NOT FOUND.
PODs are NAMESPACE/NAME, or NAME with --namespace (default "default").

Flags:
  --node NAME               the pods on this node, as "kubectl drain NAME" would see them; repeat
                            it to plan a node-pool rotation (nodes drained one after another)
  -n, --namespace NS        the pods of this namespace; with PODs, their namespace
  --ignore-daemonsets       kubectl drain's flags: they change what its filters do
  --delete-emptydir-data    (alias --delete-local-data)
  --force
  --kubeconfig FILE         cluster to read (default: in-cluster, $KUBECONFIG, ~/.kube/config)
  --snapshot FILE           read a YAML/JSON dump instead (kubectl get pods,pdb,rs,deploy,sts,ns,nodes -A -o yaml)
                            With neither, the built-in demo cluster is read.
  --policy PATH             EvictionPolicy file or folder; repeatable. In a cluster, EvictionPolicy
                            objects are read as well.
  --mode MODE               ${ENFORCEMENT_MODES.join('|')} (default enforce), as the webhook runs
  --reservation-namespace NS
                            where the webhook keeps its reservation Leases (default ${INSTALL_NAMESPACE}).
                            In a cluster, the evictions it reserved count as in disruption (read only)
  --as USER                 who drains (policies match subjects; default: nobody in particular)
  --as-group GROUP          the drainer's groups; repeatable (default system:authenticated)
  -o, --output FORMAT       table|json|yaml (default table)
  --timeout SECONDS         how long to wait for the cluster to be listed (default 30)
  --log-level LEVEL         ${LOG_LEVELS.join('|')} (default warn), on stderr
  -h, --help                show this help

Exit codes: 0 the drain would complete, 1 it would not, 2 usage error, 4 the cluster could not be read.`;

export interface CheckOptions extends ClusterChoice {
  scope: DrainScope;
  flags: DrainFlags;
  policies: string[];
  mode: EnforcementMode;
  /** Where the webhook's reservation Leases are read from, in a cluster. */
  reservationNamespace: string;
  requester: Requester;
  output: OutputFormat;
  timeoutMs: number;
  logLevel: LogLevel;
}

function parsePodArgument(argument: string, namespace: string | undefined): { namespace: string; name: string } {
  const parts = argument.split('/');
  if (parts.length === 1 && parts[0] !== '') return { namespace: namespace ?? 'default', name: parts[0] };
  if (parts.length === 2 && parts[0] !== '' && parts[1] !== '') {
    if (namespace !== undefined && namespace !== parts[0]) {
      throw new UsageError(`pod "${argument}" is not in --namespace ${namespace}`, CHECK_USAGE);
    }
    return { namespace: parts[0], name: parts[1] };
  }
  throw new UsageError(`a POD is NAMESPACE/NAME or NAME, got "${argument}"`, CHECK_USAGE);
}

export function parseCheckOptions(argv: string[]): CheckOptions | 'help' {
  const { values, positionals } = parseFlags(
    argv,
    {
      node: { type: 'string', multiple: true },
      namespace: { type: 'string', short: 'n' },
      'ignore-daemonsets': { type: 'boolean' },
      'delete-emptydir-data': { type: 'boolean' },
      'delete-local-data': { type: 'boolean' },
      force: { type: 'boolean' },
      kubeconfig: { type: 'string' },
      snapshot: { type: 'string' },
      policy: { type: 'string', multiple: true },
      mode: { type: 'string' },
      'reservation-namespace': { type: 'string' },
      as: { type: 'string' },
      'as-group': { type: 'string', multiple: true },
      output: { type: 'string', short: 'o' },
      timeout: { type: 'string' },
      'log-level': { type: 'string' },
    },
    CHECK_USAGE,
    true,
  );
  if (values.help) return 'help';
  const nodes = values.node as string[] | undefined;
  const namespace = values.namespace as string | undefined;
  const chosen = [nodes !== undefined, positionals.length > 0, namespace !== undefined && positionals.length === 0].filter(Boolean).length;
  if (chosen !== 1) throw new UsageError('give exactly one of --node NAME (repeatable), --namespace NS, or PODs', CHECK_USAGE);
  if (nodes?.includes('')) throw new UsageError('--node needs a node name', CHECK_USAGE);
  const repeated = nodes?.find((node, index) => nodes.indexOf(node) !== index);
  if (repeated !== undefined) throw new UsageError(`--node ${repeated} is given twice: a drain plan drains each node once`, CHECK_USAGE);
  const scope: DrainScope =
    nodes !== undefined
      ? { nodes }
      : positionals.length > 0
        ? { pods: positionals.map((argument) => parsePodArgument(argument, namespace)) }
        : { namespace: namespace! };

  if (values.kubeconfig !== undefined && values.snapshot !== undefined) {
    throw new UsageError('--kubeconfig and --snapshot are alternatives: give one', CHECK_USAGE);
  }
  const groups = (values['as-group'] as string[] | undefined) ?? ['system:authenticated'];
  return {
    scope,
    flags: {
      ignoreDaemonSets: values['ignore-daemonsets'] === true,
      deleteEmptyDirData: values['delete-emptydir-data'] === true || values['delete-local-data'] === true,
      force: values.force === true,
    },
    kubeconfig: values.kubeconfig as string | undefined,
    snapshot: values.snapshot as string | undefined,
    policies: (values.policy as string[] | undefined) ?? [],
    mode: parseChoice(values.mode, 'enforce', ENFORCEMENT_MODES, '--mode', CHECK_USAGE),
    reservationNamespace: parseReservationNamespace(values['reservation-namespace'], CHECK_USAGE) ?? INSTALL_NAMESPACE,
    requester: { username: (values.as as string | undefined) ?? '', groups },
    output: parseOutputFormat(values.output as string | undefined, CHECK_USAGE),
    timeoutMs: parseSeconds(values.timeout, 30, '--timeout', CHECK_USAGE),
    logLevel: parseChoice(values['log-level'], 'warn', LOG_LEVELS, '--log-level', CHECK_USAGE),
  };
}

const RESULT_LABELS: Record<PodResult, string> = {
  evict: 'EVICT',
  wait: 'WAIT',
  skip: 'SKIP',
  refuse: 'REFUSED',
  block: 'BLOCKED',
  fail: 'DENIED',
  missing: 'NOT FOUND',
};

const DETAIL_WIDTH = 90;

/** "the replacement of shop/a", "2 replacements: shop/a, shop/b". */
function describeWait(waitsFor: readonly string[]): string {
  return waitsFor.length === 1 ? `the replacement of ${waitsFor[0]}` : `${waitsFor.length} replacements: ${waitsFor.join(', ')}`;
}

/** The kubectl-like report: one row per pod in drain order, the why of every pod that waits or stops the drain, then the summary. */
export function renderDrainTable(report: DrainReport): string {
  const rows = report.pods.map((pod) => [
    pod.namespace,
    pod.name,
    pod.node ?? '<none>',
    RESULT_LABELS[pod.result],
    pod.code === undefined ? '-' : String(pod.code),
    pod.decidedBy ?? '-',
    clip(pod.result === 'wait' ? `after ${describeWait(pod.waitsFor ?? [])}` : pod.message.split('\n')[0], DETAIL_WIDTH),
  ]);
  const sections = [rows.length === 0 ? `No pods in ${report.scope}.` : renderTable(['NAMESPACE', 'POD', 'NODE', 'RESULT', 'CODE', 'CHECK', 'DETAIL'], rows)];

  const waiting = report.pods.filter((pod) => pod.result === 'wait');
  if (waiting.length > 0) sections.push(['Waits:', ...waiting.flatMap(explainPod)].join('\n'));
  const stopping = report.pods.filter((pod) => pod.result !== 'evict' && pod.result !== 'wait' && pod.result !== 'skip');
  if (stopping.length > 0) sections.push(['Why:', ...stopping.flatMap(explainPod)].join('\n'));
  // Pods that wait or stop the drain have their why above; warnings of the others are what drain prints.
  const warned = report.pods.filter((pod) => (pod.result === 'evict' || pod.result === 'skip') && pod.warnings.length > 0);
  if (warned.length > 0) {
    sections.push(['Warnings:', ...warned.flatMap((pod) => pod.warnings.map((warning) => `  ${pod.namespace}/${pod.name}: ${warning}`))].join('\n'));
  }
  if (report.notes.length > 0) sections.push(['Notes:', ...report.notes.map((note) => `  ${note}`)].join('\n'));
  if (report.assumptions.length > 0) sections.push(['The plan assumes that', ...report.assumptions.map((assumption) => `  ${assumption};`)].join('\n').replace(/;$/, '.'));
  sections.push(report.summary);
  return `${sections.join('\n\n')}\n`;
}

function explainPod(pod: PodCheck): string[] {
  const code = pod.code === undefined ? '' : ` ${pod.code}`;
  const lines = [`  ${pod.namespace}/${pod.name}: ${RESULT_LABELS[pod.result]}${code}${pod.decidedBy ? ` by ${pod.decidedBy}` : ''}`];
  const waitsFor = pod.waitsFor ?? [];
  if (pod.result === 'wait') lines.push(`    Goes once ${waitsFor.join(', ')} ${waitsFor.length === 1 ? 'is' : 'are'} replaced and Ready.`);
  lines.push(...pod.message.split('\n').map((line) => `    ${line}`));
  if (pod.hint) lines.push(`    Fix: ${pod.hint}`);
  return lines;
}


/** Waits for the policies a cluster holds; without the CRD there are none, and any other failure is said on stderr. */
async function waitForPolicies(policies: PolicyService, timeoutMs: number, logger: Logger): Promise<void> {
  const settled = () => {
    const cluster = policies.status().cluster;
    return cluster === undefined || cluster.synced || cluster.hint !== undefined;
  };
  if (!(await pollUntil(settled, timeoutMs))) {
    logger.warn({ error: policies.status().cluster?.lastError }, 'EvictionPolicy objects could not be listed: policy checks use --policy files only');
  }
}

/** The report for `options`, from the cluster it names. Throws when the cluster cannot be read. */
export async function runDrainCheck(options: CheckOptions, logger: Logger): Promise<DrainReport> {
  return withSyncedCluster(options, options.timeoutMs, logger, async (view) => {
    const policies = startPolicyService({
      paths: options.policies,
      mode: options.mode,
      kubeConfig: view instanceof LiveClusterView ? view.kubeConfig : undefined,
      logger,
    });
    try {
      await waitForPolicies(policies, options.timeoutMs, logger);
      const reservations = await readReservations(view, options.reservationNamespace, options.timeoutMs, logger);
      return await checkDrain(view, options.scope, {
        flags: options.flags,
        requester: options.requester,
        checkPolicies: policies.evaluate,
        ...(reservations ? { reservations } : {}),
      });
    } finally {
      await policies.close();
    }
  });
}

export function runCheck(argv: string[]): Promise<number> {
  return runReportCommand(
    {
      name: 'check',
      usage: CHECK_USAGE,
      parse: parseCheckOptions,
      build: runDrainCheck,
      table: renderDrainTable,
      exitCode: (report) => (report.completes ? EXIT.ok : EXIT.problem),
    },
    argv,
  );
}
