// The drain preflight behind `eviction-guard check`: for every pod a drain would touch, what
// kubectl drain's filters do with it, then the drain plan (plan.ts): each eviction judged by the very
// decide() and policies the webhook answers with, in the order the drain sends them, each one using
// up budget for the pods after it. Reads the cluster; prints nothing.
import type { ClusterView } from '../cluster/view';
import { decisiveDenial } from '../decide';
import type { EvictionAttempt, Finding, PodFacts, Requester, Verdict } from '../domain';
import { evaluateEviction, judgeEviction, type PolicyCheck } from '../evaluate';
import { qualifiedName } from '../pdb/explain';
import { isFor, isNotYetDisrupted, liveReservations, reservationView, type ReservationRecord } from '../reservation/record';
import { drainDisposition, type DrainFlags, type DrainNote } from './filters';
import { denialCode, planDrain, type PlanCandidate, type PlannedPod, type PlanReservations } from './plan';

/** Which pods a drain would touch: nodes drained in this order, a namespace, or pods. */
export type DrainScope = { nodes: readonly string[] } | { namespace: string } | { pods: readonly { namespace: string; name: string }[] };

/**
 * evict: the eviction passes when the drain reaches it. wait: 429 first, then passes once earlier
 * evictions are replaced (drain retries every 5 s). skip: drain leaves the pod (DaemonSet with
 * --ignore-daemonsets, mirror pod). refuse: a drain filter stops the node's drain before any
 * eviction. block: a 429 that replacements do not clear (drain retries forever without --timeout).
 * fail: any other denial (403, 500), which drain does not retry. missing: no such pod.
 */
export type PodResult = 'evict' | 'wait' | 'skip' | 'refuse' | 'block' | 'fail' | 'missing';

export interface PodCheck {
  namespace: string;
  name: string;
  node?: string;
  result: PodResult;
  /** HTTP code of the denial (429, 403, 500); 429 for a pod that waits. */
  code?: number;
  /** The check or drain filter that decided (pdb/budget, policy/<name>/<rule>, drain/daemonset). */
  decidedBy?: string;
  /** Every check that had something to say, in decide() order. */
  checks: string[];
  /** Why, in one or two sentences. */
  message: string;
  hint?: string;
  /** The drain flag that would change a filter's answer. */
  flag?: string;
  /** Admission warnings and drain filter warnings. */
  warnings: string[];
  pdbs: string[];
  /** evict and wait: the wave of the plan that evicts it (1 = at once). */
  wave?: number;
  /** wait: the earlier evictions (namespace/name) whose replacements must be Ready first. */
  waitsFor?: string[];
}

export interface DrainReport {
  /** "node node-a", "nodes a, b", "namespace shop" or "3 pods". */
  scope: string;
  /** True when the drain would finish: no filter refuses, nothing is blocked or denied, every pod exists. */
  completes: boolean;
  pods: PodCheck[];
  counts: Record<PodResult, number>;
  /** Pods that stop the drain, by deciding check. */
  blockers: Record<string, number>;
  /** What the plan takes for granted about the cluster while the drain runs. */
  assumptions: string[];
  /** Things about the drain as a whole (a node the drain would hang on). */
  notes: string[];
  summary: string;
}

/** The webhook's reservation records as read from the cluster (`from`: where), or why they could not be read. */
export type ReservationsRead = { from: string; records: readonly ReservationRecord[] } | { from: string; error: string };

export interface PreflightOptions {
  flags: DrainFlags;
  requester: Requester;
  checkPolicies?: PolicyCheck;
  /** The webhook's reservations, counted as the webhook counts them; none from a snapshot or the demo. */
  reservations?: ReservationsRead;
  /** Evaluations in flight at once (live confirm reads). */
  concurrency?: number;
  /** The plan's clock (default: now). */
  now?: Date;
}

export const DRAIN_FILTER_CHECK_PREFIX = 'drain/';

const RESULTS: readonly PodResult[] = ['evict', 'wait', 'skip', 'refuse', 'block', 'fail', 'missing'];
const STOPPING: ReadonlySet<PodResult> = new Set(['refuse', 'block', 'fail', 'missing']);

export const REPLACEMENT_ASSUMPTION =
  'evicted pods are replaced by their controllers on nodes outside this plan, the replacements become Ready in the order the pods were evicted, and nothing else changes meanwhile';
export const NODE_ORDER_ASSUMPTION = 'the nodes are drained one after another in the order given, each once the evictions before it are replaced';
export const RESERVATION_ASSUMPTION = 'the evictions the webhook has reserved go through, and those of pods outside this plan are replaced before its second wave';

export function describeScope(scope: DrainScope): string {
  if ('nodes' in scope) return scope.nodes.length === 1 ? `node ${scope.nodes[0]}` : `nodes ${scope.nodes.join(', ')}`;
  if ('namespace' in scope) return `namespace ${scope.namespace}`;
  return scope.pods.length === 1 ? `pod ${qualifiedName(scope.pods[0])}` : `${scope.pods.length} pods`;
}

interface Target {
  namespace: string;
  name: string;
  pod: PodFacts | undefined;
}

/** A target after the filters and the webhook's answer on the cluster as it is: a result, or an eviction to plan. */
type Checked = { check: PodCheck } | { candidate: PlanCandidate; base: PodCheckBase; filterWarnings: string[] };

type PodCheckBase = Pick<PodCheck, 'namespace' | 'name' | 'node'>;

/** Preflight of a drain of `scope`: every pod's filter result and planned eviction, and whether the drain would complete. */
export async function checkDrain(view: ClusterView, scope: DrainScope, options: PreflightOptions): Promise<DrainReport> {
  const steps = await targetsInScope(view, scope);
  const checked = await mapConcurrently(steps.flat(), options.concurrency ?? 8, (target, index) => checkTarget(view, target, index, options));
  let offset = 0;
  const candidates = steps.map((targets) => checked.slice(offset, (offset += targets.length)).flatMap((entry) => ('candidate' in entry ? [entry.candidate] : [])));
  const now = options.now ?? new Date();
  const reservations = planReservations(view, options.reservations, now);
  const plan = planDrain(candidates, {
    judge: (attempt, facts, unconfirmed) => judgeEviction(attempt, facts, options.checkPolicies, unconfirmed),
    now,
    ...(reservations ? { reservations } : {}),
  });
  const pods = checked.map((entry) => ('check' in entry ? entry.check : plannedCheck(entry.base, plan.get(qualifiedName(entry.base))!, entry.filterWarnings)));
  return summarize(scope, pods, reservationsSaid(options.reservations, reservations));
}

/**
 * The live reservations of pods the cluster does not show in disruption yet, with the view the
 * policies count them through; undefined when there are none (a terminating pod counts anyway).
 */
function planReservations(view: ClusterView, read: ReservationsRead | undefined, now: Date): PlanReservations | undefined {
  if (read === undefined || 'error' in read) return undefined;
  const inventory = view.inventory();
  const pods = liveReservations(read.records, now.getTime()).flatMap((entry) =>
    inventory.podsInNamespace(entry.namespace).filter((pod) => isFor(entry, pod) && isNotYetDisrupted(pod)),
  );
  return pods.length === 0 ? undefined : { view: reservationView(read.records, now.getTime()), pods };
}

/** What the report says about the reservations: counted (which, and what the plan assumes of them), or not readable. */
function reservationsSaid(read: ReservationsRead | undefined, counted: PlanReservations | undefined): Pick<DrainReport, 'notes' | 'assumptions'> {
  if (read !== undefined && 'error' in read) {
    return {
      notes: [`Reservations could not be read (${read.from}: ${read.error}): evictions the webhook allowed a moment ago are not counted, so a pod planned EVICT may get 429.`],
      assumptions: [],
    };
  }
  if (read === undefined || counted === undefined) return { notes: [], assumptions: [] };
  const names = counted.pods.map(qualifiedName).sort();
  const evictions = names.length === 1 ? '1 eviction the webhook allowed is' : `${names.length} evictions the webhook allowed are`;
  return {
    notes: [`${evictions} not seen terminating yet and count${names.length === 1 ? 's' : ''} as in disruption (reservations in ${read.from}): ${names.join(', ')}.`],
    assumptions: [RESERVATION_ASSUMPTION],
  };
}

const byName = (a: { namespace: string; name: string }, b: { namespace: string; name: string }) =>
  a.namespace === b.namespace ? a.name.localeCompare(b.name) : a.namespace.localeCompare(b.namespace);

/** The pods of each drain step, in the order the drain meets them: kubectl lists a node's pods by namespace and name. */
async function targetsInScope(view: ClusterView, scope: DrainScope): Promise<Target[][]> {
  if ('pods' in scope) {
    return [await Promise.all(scope.pods.map(async ({ namespace, name }) => ({ namespace, name, pod: (await view.facts(namespace, name)).pod })))];
  }
  const inventory = view.inventory();
  const toTargets = (pods: readonly PodFacts[]) => [...pods].sort(byName).map((pod) => ({ namespace: pod.namespace, name: pod.name, pod }));
  if ('namespace' in scope) return [toTargets(inventory.podsInNamespace(scope.namespace))];
  return scope.nodes.map((node) => toTargets(inventory.podsOnNode(node)));
}

function filterCheck(note: DrainNote): string {
  return `${DRAIN_FILTER_CHECK_PREFIX}${note.filter}`;
}

async function checkTarget(view: ClusterView, target: Target, index: number, options: PreflightOptions): Promise<Checked> {
  const { pod } = target;
  if (pod === undefined) {
    const message = `Pod ${target.namespace}/${target.name} does not exist.`;
    return { check: { namespace: target.namespace, name: target.name, result: 'missing', checks: [], message, warnings: [], pdbs: [] } };
  }
  const base: PodCheckBase = { namespace: pod.namespace, name: pod.name, ...(pod.nodeName ? { node: pod.nodeName } : {}) };
  const disposition = drainDisposition(pod, options.flags);
  if (disposition.kind !== 'evict') {
    const { note } = disposition;
    const check: PodCheck = {
      ...base,
      result: disposition.kind,
      decidedBy: filterCheck(note),
      checks: [filterCheck(note)],
      message: note.message,
      ...(note.flag ? { flag: note.flag } : {}),
      ...(disposition.kind === 'refuse' && note.flag ? { hint: `drain with ${note.flag}` } : {}),
      warnings: [],
      pdbs: [],
    };
    return { check };
  }

  const attempt: EvictionAttempt = {
    uid: `eviction-guard-check-${index}`,
    namespace: pod.namespace,
    podName: pod.name,
    evictionVersion: 'policy/v1',
    requester: options.requester,
    dryRun: false,
  };
  // The webhook's own shell: cached facts, and a live read to confirm a denial.
  const { verdict, facts, confirmFailed } = await evaluateEviction(attempt, view, options.checkPolicies);
  const filterWarnings = disposition.warnings.map((note) => `${note.message} (${note.flag})`);
  if (facts?.pod === undefined) {
    // The cluster could not be read (the verdict failed open), or the pod went away meanwhile.
    return { check: { ...base, ...verdictResult(verdict), ...verdictDetails(verdict, filterWarnings) } };
  }
  const candidate: PlanCandidate = { attempt, facts: { ...facts, pod: facts.pod }, ...(confirmFailed === undefined ? {} : { unconfirmed: confirmFailed }) };
  return { candidate, base, filterWarnings };
}

function verdictDetails(verdict: Verdict, filterWarnings: readonly string[]): Pick<PodCheck, 'warnings' | 'pdbs' | 'checks'> {
  return { warnings: [...filterWarnings, ...verdict.warnings], pdbs: verdict.pdbs, checks: verdict.findings.map((finding) => finding.check) };
}

function verdictResult(verdict: Verdict): Pick<PodCheck, 'result' | 'code' | 'decidedBy' | 'message' | 'hint'> {
  const denial = decisiveDenial(verdict.findings.filter((finding) => finding.action === 'deny'));
  if (verdict.allowed || denial === undefined) {
    // The finding worth showing: a warning if any, else what the PDB mirror said.
    const shown: Finding | undefined = verdict.findings.find((finding) => finding.action === 'warn') ?? verdict.findings[0];
    return { result: 'evict', message: shown?.message ?? 'Allowed.', ...(shown?.hint ? { hint: shown.hint } : {}) };
  }
  const code = denialCode(verdict)!;
  return {
    result: code === 429 ? 'block' : 'fail',
    code,
    decidedBy: denial.check,
    message: denial.message,
    ...(denial.hint ? { hint: denial.hint } : {}),
  };
}

function plannedCheck(base: PodCheckBase, planned: PlannedPod, filterWarnings: readonly string[]): PodCheck {
  const check: PodCheck = { ...base, ...verdictResult(planned.verdict), ...verdictDetails(planned.verdict, filterWarnings) };
  if (planned.wave !== undefined) check.wave = planned.wave;
  if (planned.result === 'wait') {
    check.result = 'wait';
    check.waitsFor = planned.waitsFor ?? [];
    // The fix of a 429 that only waits is the waiting.
    delete check.hint;
  }
  return check;
}

function summarize(scope: DrainScope, pods: PodCheck[], reservations: Pick<DrainReport, 'notes' | 'assumptions'>): DrainReport {
  const counts = Object.fromEntries(RESULTS.map((result) => [result, 0])) as Record<PodResult, number>;
  const blockers: Record<string, number> = {};
  for (const pod of pods) {
    counts[pod.result]++;
    if (STOPPING.has(pod.result)) {
      const key = pod.decidedBy ?? pod.result;
      blockers[key] = (blockers[key] ?? 0) + 1;
    }
  }
  const completes = pods.every((pod) => !STOPPING.has(pod.result));
  const assumptions: string[] = [];
  if (counts.evict + counts.wait > 0) assumptions.push(REPLACEMENT_ASSUMPTION);
  if ('nodes' in scope && scope.nodes.length > 1) assumptions.push(NODE_ORDER_ASSUMPTION);
  assumptions.push(...reservations.assumptions);
  const notes = [...reservations.notes, ...hangingNodes(scope, pods)];
  return { scope: describeScope(scope), completes, pods, counts, blockers, assumptions, notes, summary: summaryLine(describeScope(scope), counts, blockers, completes) };
}

/** kubectl drain A B stays on A while a pod of A gets 429, so B is reached only with --timeout. */
function hangingNodes(scope: DrainScope, pods: readonly PodCheck[]): string[] {
  if (!('nodes' in scope)) return [];
  return scope.nodes.slice(0, -1).flatMap((node) => {
    const blocked = pods.filter((pod) => pod.node === node && pod.result === 'block').length;
    return blocked === 0
      ? []
      : [`kubectl drain stays on node ${node} while its ${blocked} blocked pod(s) get 429 (until --timeout); the nodes after it are planned as if it had finished.`];
  });
}

function summaryLine(scope: string, counts: Record<PodResult, number>, blockers: Record<string, number>, completes: boolean): string {
  const others = [
    counts.fail > 0 ? `${counts.fail} denied` : '',
    counts.refuse > 0 ? `${counts.refuse} refused` : '',
    counts.missing > 0 ? `${counts.missing} not found` : '',
    counts.skip > 0 ? `${counts.skip} skipped` : '',
  ].filter((part) => part !== '');
  const tally = `${counts.evict} evict now, ${counts.wait} wait for replacements, ${counts.block} blocked${others.length > 0 ? `; ${others.join(', ')}` : ''}`;
  if (completes) return `Drain of ${scope} would complete: ${tally}.`;
  const why = Object.entries(blockers)
    .sort(([a, x], [b, y]) => y - x || a.localeCompare(b))
    .map(([check, count]) => `${count} ${check}`)
    .join(', ');
  const effects = [
    counts.refuse > 0 ? `${counts.refuse} refused by kubectl drain's filters (nothing on the node is evicted until fixed)` : '',
    counts.block > 0 ? `${counts.block} blocked with 429 (drain retries every 5s, forever without --timeout)` : '',
    counts.fail > 0 ? `${counts.fail} denied without retry (drain fails on them)` : '',
    counts.missing > 0 ? `${counts.missing} not found` : '',
  ].filter((part) => part !== '');
  return `Drain of ${scope} would NOT complete: ${tally}. Stopped by ${why}: ${effects.join('; ')}.`;
}

async function mapConcurrently<T, R>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index], index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
