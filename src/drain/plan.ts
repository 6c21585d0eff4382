// The drain plan behind `eviction-guard check`: the evictions a drain sends, judged one after another
// in the order the drain meets them, each planned eviction using up PDB budget and policy limits for
// the pods after it (planned-cluster.ts). Pure: the facts and the judge (decide() with the
// policies, as the webhook runs them) come in.
//
// How a drain goes, in waves. kubectl drain sends every eviction of a node at once and retries each
// 429 every 5 s. Wave 1 is what passes at once. The plan then assumes that every eviction made so
// far is replaced and Ready (settled), and the pods still waiting try again: those that pass now
// form the next wave. Evictions the webhook reserved outside the plan before it started are in
// flight in wave 1 and settle with it. When a wave passes nobody and nothing is left in flight, the
// pods left get 429 for as long as the cluster stays as it is: BLOCKED. Nodes are drained one after
// another, each once the evictions of the nodes before it have settled.
import { decisiveDenial } from '../decide';
import type { EvictionAttempt, EvictionFacts, PodFacts, ReservationView, Verdict } from '../domain';
import { PDB_CHECKS } from '../pdb/explain';
import { matchingPdbs } from '../pdb/mirror';
import { isNotYetDisrupted } from '../reservation/record';
import { factsWithPlan, podKey, reservedEviction, type PlanState, type PlannedEviction } from './planned-cluster';

/** What the webhook would answer for this attempt on these facts (`unconfirmed`: its live confirm read failed). */
export type Judge = (attempt: EvictionAttempt, facts: EvictionFacts, unconfirmed?: string) => Verdict;

/** One pod the drain sends an eviction for, with the facts read for it. */
export interface PlanCandidate {
  attempt: EvictionAttempt;
  facts: EvictionFacts & { pod: PodFacts };
  unconfirmed?: string;
}

/**
 * evict: passes when the drain reaches it. wait: 429 at first, passes once `waitsFor` are replaced.
 * block: 429 that replacements do not clear. fail: 403 or 500, which drain does not retry.
 */
export type PlannedResult = 'evict' | 'wait' | 'block' | 'fail';

export interface PlannedPod {
  result: PlannedResult;
  /** evict: the allowing verdict. wait: its first 429 (why it waits). block: its last 429. fail: the denial. */
  verdict: Verdict;
  /** The wave that evicts it (1, 2, …, counted across nodes); evict and wait only. */
  wave?: number;
  /** wait: the planned evictions (namespace/name) whose replacements it needs. */
  waitsFor?: string[];
}

const isFinished = (pod: PodFacts) => pod.phase === 'Succeeded' || pod.phase === 'Failed';

/** The HTTP code of a denial, as decide() chose it; undefined when allowed. */
export function denialCode(verdict: Verdict): number | undefined {
  if (verdict.allowed) return undefined;
  return verdict.status?.code ?? decisiveDenial(verdict.findings.filter((finding) => finding.action === 'deny'))?.code ?? 403;
}

function plannedEviction(candidate: PlanCandidate, facts: EvictionFacts, verdict: Verdict): PlannedEviction {
  const { pod } = candidate.facts;
  return {
    key: podKey(pod),
    pod,
    pdbs: matchingPdbs(pod, facts.pdbs).map((pdb) => pdb.name),
    // The mirror's allowing budget finding is step 9e: the only path that decrements the budget.
    usedBudget: verdict.findings.some((finding) => finding.check === PDB_CHECKS.budget && finding.action !== 'deny'),
    wasHealthy: pod.ready && !pod.deleting && pod.phase === 'Running',
    isReplaced: pod.owner !== undefined && !isFinished(pod) && !pod.deleting,
  };
}

export interface DrainPlanOptions {
  judge: Judge;
  /** Stamps the PDB records of planned evictions. */
  now: Date;
  /**
   * The webhook's reservations when the plan starts, and the pods they are for: counted by the
   * policies as the webhook counts them, and those outside the plan are evictions in flight in its
   * first wave, replaced before the second.
   */
  reservations?: PlanReservations;
}

export interface PlanReservations {
  view: ReservationView;
  /** The reserved pods as the cluster shows them. */
  pods: readonly PodFacts[];
}

/** The reserved pods the plan does not evict itself and the cluster does not show in disruption yet. */
function reservedOutside(reservations: PlanReservations | undefined, steps: readonly (readonly PlanCandidate[])[]): PlannedEviction[] {
  if (reservations === undefined) return [];
  const inPlan = new Set(steps.flatMap((candidates) => candidates.map((candidate) => podKey(candidate.facts.pod))));
  return reservations.pods.filter((pod) => !inPlan.has(podKey(pod)) && isNotYetDisrupted(pod)).map(reservedEviction);
}

/** Plans the drain of `steps` (one per node, in order; each in the order its drain meets the pods), by pod key. */
export function planDrain(steps: readonly (readonly PlanCandidate[])[], options: DrainPlanOptions): Map<string, PlannedPod> {
  const { judge, now } = options;
  const planned = new Map<string, PlannedPod>();
  const evictions: PlannedEviction[] = reservedOutside(options.reservations, steps);
  const settled = new Set<string>();
  const reservations = options.reservations?.view;
  const judgeIn = (candidate: PlanCandidate, state: PlanState) => {
    const facts = factsWithPlan(reservations ? { ...candidate.facts, reservations } : candidate.facts, state, now);
    return { facts, verdict: judge(candidate.attempt, facts, candidate.unconfirmed) };
  };
  let wave = 0;

  for (const [step, candidates] of steps.entries()) {
    // The nodes before this one are drained and their pods replaced (the plan's assumption).
    if (step > 0) for (const eviction of evictions) settled.add(eviction.key);
    const settledBeforeNode = new Set(settled);
    /** Settled at a wave boundary of this node: what its waiting pods wait for. */
    const replacedOnNode: PlannedEviction[] = [];
    let pending = candidates.map((candidate) => ({ candidate, firstDenial: undefined as Verdict | undefined }));

    for (let isFirstWave = true; pending.length > 0; isFirstWave = false) {
      wave++;
      if (!isFirstWave) {
        for (const eviction of evictions) {
          if (!settled.has(eviction.key)) replacedOnNode.push(eviction);
          settled.add(eviction.key);
        }
      }
      const waitingBefore = pending;
      const evictedBefore = evictions.length;
      pending = [];
      for (const entry of waitingBefore) {
        const { candidate } = entry;
        const state: PlanState = { evictions, settled };
        const { facts, verdict } = judgeIn(candidate, state);
        const code = denialCode(verdict);
        const key = podKey(candidate.facts.pod);
        if (code === undefined) {
          if (entry.firstDenial === undefined) {
            planned.set(key, { result: 'evict', verdict, wave });
          } else {
            const waitsFor = neededReplacements(candidate, evictions, settledBeforeNode, replacedOnNode, judgeIn);
            planned.set(key, { result: 'wait', verdict: entry.firstDenial, wave, waitsFor });
          }
          evictions.push(plannedEviction(candidate, facts, verdict));
        } else if (code === 429) {
          pending.push({ candidate, firstDenial: entry.firstDenial ?? verdict });
          planned.set(key, { result: 'block', verdict });
        } else {
          planned.set(key, { result: 'fail', verdict });
        }
      }
      // A wave that evicts nobody changes nothing, unless evictions are still in flight (reserved
      // before the plan) whose replacements the next wave brings: else the pods still waiting stay
      // blocked, and it is no wave.
      if (evictions.length === evictedBefore && evictions.every((eviction) => settled.has(eviction.key))) {
        wave--;
        break;
      }
    }
  }
  return planned;
}

/** Shares a PDB or the controller with the pod: the evictions a budget or a per-owner limit counts together. */
function isRelated(eviction: PlannedEviction, candidate: PlanCandidate, pdbs: readonly string[]): boolean {
  const { pod } = candidate.facts;
  if (eviction.pod.namespace !== pod.namespace) return false;
  const sameOwner = pod.owner !== undefined && eviction.pod.owner?.kind === pod.owner.kind && eviction.pod.owner.name === pod.owner.name;
  return sameOwner || eviction.pdbs.some((pdb) => pdbs.includes(pdb));
}

/**
 * Which of the node's earlier evictions must be replaced before `candidate` passes: the shortest
 * prefix, in the order they were evicted, that lets it pass, less those it does not need. Each
 * related eviction of that prefix (same PDB or controller) holds one unit of a budget or limit the
 * pod needs, so the unrelated ones are dropped together when the pod passes without them; only
 * when it does not (a namespace or node limit counts them too) is each one tried on its own.
 */
function neededReplacements(
  candidate: PlanCandidate,
  evictions: readonly PlannedEviction[],
  settledBeforeNode: ReadonlySet<string>,
  replacedOnNode: readonly PlannedEviction[],
  judgeIn: (candidate: PlanCandidate, state: PlanState) => { verdict: Verdict },
): string[] {
  const passes = (replaced: readonly PlannedEviction[]) =>
    judgeIn(candidate, { evictions, settled: new Set([...settledBeforeNode, ...replaced.map((eviction) => eviction.key)]) }).verdict.allowed;
  // Replacing more never makes an eviction harder, so the shortest passing prefix can be bisected.
  let low = 0;
  let high = replacedOnNode.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (passes(replacedOnNode.slice(0, middle))) high = middle;
    else low = middle + 1;
  }
  const prefix = replacedOnNode.slice(0, low);
  const pdbs = matchingPdbs(candidate.facts.pod, candidate.facts.pdbs).map((pdb) => pdb.name);
  const related = prefix.filter((eviction) => isRelated(eviction, candidate, pdbs));
  if (related.length === prefix.length || passes(related)) return related.map((eviction) => eviction.key);
  const needed = [...prefix];
  for (let index = 0; index < needed.length; ) {
    const without = [...needed.slice(0, index), ...needed.slice(index + 1)];
    if (passes(without)) needed.splice(index, 1);
    else index++;
  }
  return needed.map((eviction) => eviction.key);
}
