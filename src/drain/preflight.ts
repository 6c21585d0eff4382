// The drain preflight behind `eviction-guard check`: for every pod a drain would touch, what
// kubectl drain's filters do with it and what its eviction would get right now, from the very
// evaluateEviction()/decide() the webhook answers with. Reads the cluster; prints nothing.
import type { ClusterView } from '../cluster/view';
import { decisiveDenial } from '../decide';
import type { EvictionAttempt, Finding, PodFacts, Requester, Verdict } from '../domain';
import { evaluateEviction, type PolicyCheck } from '../evaluate';
import { matchingPdbs } from '../pdb/mirror';
import { qualifiedName } from '../pdb/explain';
import { drainDisposition, type DrainFlags, type DrainNote } from './filters';

/** Which pods a drain would touch. */
export type DrainScope = { node: string } | { namespace: string } | { pods: readonly { namespace: string; name: string }[] };

/**
 * evict: the eviction would be allowed now. skip: drain leaves the pod (DaemonSet with
 * --ignore-daemonsets, mirror pod). refuse: a drain filter stops the whole drain before any
 * eviction. block: a 429, which kubectl drain retries every 5 s (forever without --timeout).
 * fail: any other denial (403, 500), which drain does not retry. missing: no such pod.
 */
export type PodResult = 'evict' | 'skip' | 'refuse' | 'block' | 'fail' | 'missing';

export interface PodCheck {
  namespace: string;
  name: string;
  node?: string;
  result: PodResult;
  /** HTTP code of the denial (429, 403, 500). */
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
}

export interface DrainReport {
  /** "node node-a", "namespace shop" or "3 pods". */
  scope: string;
  /** True when a drain would finish now: no filter refuses, no eviction is denied, every pod exists. */
  completes: boolean;
  pods: PodCheck[];
  counts: Record<PodResult, number>;
  /** Pods that stop the drain, by deciding check. */
  blockers: Record<string, number>;
  /** Things that slow a drain without stopping it (evictions that must wait their turn on a PDB). */
  notes: string[];
  summary: string;
}

export interface PreflightOptions {
  flags: DrainFlags;
  requester: Requester;
  checkPolicies?: PolicyCheck;
  /** Evaluations in flight at once (live confirm reads). */
  concurrency?: number;
}

export const DRAIN_FILTER_CHECK_PREFIX = 'drain/';

const RESULTS: readonly PodResult[] = ['evict', 'skip', 'refuse', 'block', 'fail', 'missing'];
const STOPPING: ReadonlySet<PodResult> = new Set(['refuse', 'block', 'fail', 'missing']);

export function describeScope(scope: DrainScope): string {
  if ('node' in scope) return `node ${scope.node}`;
  if ('namespace' in scope) return `namespace ${scope.namespace}`;
  return scope.pods.length === 1 ? `pod ${qualifiedName(scope.pods[0])}` : `${scope.pods.length} pods`;
}

/** Preflight of a drain of `scope`: every pod's filter result and eviction verdict, and whether the drain would complete. */
export async function checkDrain(view: ClusterView, scope: DrainScope, options: PreflightOptions): Promise<DrainReport> {
  const targets = await podsInScope(view, scope);
  const pods = await mapConcurrently(targets, options.concurrency ?? 8, async (target, index) =>
    target.pod === undefined ? missingPod(target.namespace, target.name) : checkPod(view, target.pod, index, options),
  );
  return summarize(describeScope(scope), pods, view, targets);
}

interface Target {
  namespace: string;
  name: string;
  pod: PodFacts | undefined;
}

const byName = (a: { namespace: string; name: string }, b: { namespace: string; name: string }) =>
  a.namespace === b.namespace ? a.name.localeCompare(b.name) : a.namespace.localeCompare(b.namespace);

async function podsInScope(view: ClusterView, scope: DrainScope): Promise<Target[]> {
  if ('pods' in scope) {
    return Promise.all(scope.pods.map(async ({ namespace, name }) => ({ namespace, name, pod: (await view.facts(namespace, name)).pod })));
  }
  const inventory = view.inventory();
  const pods = 'node' in scope ? inventory.podsOnNode(scope.node) : inventory.podsInNamespace(scope.namespace);
  return [...pods].sort(byName).map((pod) => ({ namespace: pod.namespace, name: pod.name, pod }));
}

function missingPod(namespace: string, name: string): PodCheck {
  return { namespace, name, result: 'missing', checks: [], message: `Pod ${namespace}/${name} does not exist.`, warnings: [], pdbs: [] };
}

function filterCheck(note: DrainNote): string {
  return `${DRAIN_FILTER_CHECK_PREFIX}${note.filter}`;
}

async function checkPod(view: ClusterView, pod: PodFacts, index: number, options: PreflightOptions): Promise<PodCheck> {
  const base = { namespace: pod.namespace, name: pod.name, ...(pod.nodeName ? { node: pod.nodeName } : {}) };
  const disposition = drainDisposition(pod, options.flags);
  if (disposition.kind !== 'evict') {
    const { note } = disposition;
    return {
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
  }

  const attempt: EvictionAttempt = {
    uid: `eviction-guard-check-${index}`,
    namespace: pod.namespace,
    podName: pod.name,
    evictionVersion: 'policy/v1',
    requester: options.requester,
    dryRun: false,
  };
  const { verdict } = await evaluateEviction(attempt, view, options.checkPolicies);
  const filterWarnings = disposition.warnings.map((note) => `${note.message} (${note.flag})`);
  return { ...base, ...verdictResult(verdict), warnings: [...filterWarnings, ...verdict.warnings], pdbs: verdict.pdbs, checks: verdict.findings.map((f) => f.check) };
}

function verdictResult(verdict: Verdict): Pick<PodCheck, 'result' | 'code' | 'decidedBy' | 'message' | 'hint'> {
  const denial = decisiveDenial(verdict.findings.filter((finding) => finding.action === 'deny'));
  if (verdict.allowed || denial === undefined) {
    // The finding worth showing: a warning if any, else what the PDB mirror said.
    const shown: Finding | undefined = verdict.findings.find((finding) => finding.action === 'warn') ?? verdict.findings[0];
    return { result: 'evict', message: shown?.message ?? 'Allowed.', ...(shown?.hint ? { hint: shown.hint } : {}) };
  }
  const code = verdict.status?.code ?? denial.code ?? 403;
  return {
    result: code === 429 ? 'block' : 'fail',
    code,
    decidedBy: denial.check,
    message: denial.message,
    ...(denial.hint ? { hint: denial.hint } : {}),
  };
}

/**
 * Evictions that pass one at a time: a drain sends them all at once, and a PDB allowing N
 * disruptions lets N through; the rest get 429 until replacements are Ready. The drain still
 * finishes, later.
 */
function queuedEvictions(pods: readonly PodCheck[], view: ClusterView, targets: readonly Target[]): string[] {
  const inventory = view.inventory();
  const evicting = new Map<string, { allowed: number; pods: string[] }>();
  const facts = new Map(targets.map((target) => [`${target.namespace}/${target.name}`, target.pod]));
  for (const check of pods) {
    if (check.result !== 'evict') continue;
    const pod = facts.get(`${check.namespace}/${check.name}`);
    if (pod === undefined || pod.phase !== 'Running' || pod.deleting) continue;
    const [pdb, ...others] = matchingPdbs(pod, inventory.pdbsInNamespace(pod.namespace));
    if (pdb === undefined || others.length > 0) continue;
    const name = qualifiedName(pdb);
    const entry = evicting.get(name) ?? { allowed: pdb.status.disruptionsAllowed, pods: [] };
    entry.pods.push(check.name);
    evicting.set(name, entry);
  }
  return [...evicting]
    .filter(([, entry]) => entry.pods.length > entry.allowed)
    .map(
      ([name, entry]) =>
        `PDB ${name} allows ${entry.allowed} disruption(s) now and this drain evicts ${entry.pods.length} of its pods (${entry.pods.join(', ')}): ` +
        'the rest wait (429, retried every 5s) until replacements are Ready.',
    );
}

function summarize(scope: string, pods: PodCheck[], view: ClusterView, targets: readonly Target[]): DrainReport {
  const counts = Object.fromEntries(RESULTS.map((result) => [result, 0])) as Record<PodResult, number>;
  const blockers: Record<string, number> = {};
  for (const pod of pods) {
    counts[pod.result]++;
    if (STOPPING.has(pod.result)) {
      const key = pod.decidedBy ?? pod.result;
      blockers[key] = (blockers[key] ?? 0) + 1;
    }
  }
  const stopping = pods.filter((pod) => STOPPING.has(pod.result)).length;
  const completes = stopping === 0;
  const notes = queuedEvictions(pods, view, targets);
  return { scope, completes, pods, counts, blockers, notes, summary: summaryLine(scope, pods.length, counts, blockers, completes) };
}

function summaryLine(scope: string, total: number, counts: Record<PodResult, number>, blockers: Record<string, number>, completes: boolean): string {
  const tally = `${total} pod(s): ${counts.evict} would be evicted, ${counts.skip} skipped`;
  if (completes) return `Drain of ${scope} would complete. ${tally}.`;
  const stopping = counts.refuse + counts.block + counts.fail + counts.missing;
  const why = Object.entries(blockers)
    .sort(([a, x], [b, y]) => y - x || a.localeCompare(b))
    .map(([check, count]) => `${count} ${check}`)
    .join(', ');
  const effects = [
    counts.refuse > 0 ? `${counts.refuse} refused by kubectl drain's filters (nothing is evicted until fixed)` : '',
    counts.block > 0 ? `${counts.block} blocked with 429 (drain retries every 5s, forever without --timeout)` : '',
    counts.fail > 0 ? `${counts.fail} denied without retry (drain fails on them)` : '',
    counts.missing > 0 ? `${counts.missing} not found` : '',
  ].filter((part) => part !== '');
  return `Drain of ${scope} would NOT complete: ${stopping} of ${total} pod(s) stop it (${why}): ${effects.join('; ')}. ${tally}.`;
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
