// The cluster as a drain plan has changed it: the facts of one eviction with the plan's earlier
// evictions applied, so that decide() and the policies judge the next pod against them. Pure.
//
// A planned eviction is first in flight (the pod terminates: the API server has recorded it in its
// PDB's disruptedPods if it used the budget, and it counts as in disruption for the policies), then
// settled (the pod is gone; a pod with a controller has a Ready replacement on a node outside the
// plan). The PDB numbers follow the disruption controller: a healthy pod in flight is not healthy,
// a settled replacement is.
import type { DisruptionScope, EvictionContext, EvictionFacts, PdbFacts, PodFacts } from '../domain';
import { qualifiedName, syncFailure } from '../pdb/explain';
import { isStatusStale } from '../pdb/mirror';

/** One eviction the plan has made. */
export interface PlannedEviction {
  /** namespace/name */
  key: string;
  pod: PodFacts;
  /** The PDBs (namespace/name) that select the pod: their health counts it. */
  pdbs: readonly string[];
  /** It went through the budget check (eviction.go step 9e): the API server decremented the PDB and recorded the pod. */
  usedBudget: boolean;
  /** Counted in currentHealthy before the eviction: Ready and not already terminating. */
  wasHealthy: boolean;
  /** A controller makes a replacement (terminal pods and pods without a controller are gone for good). */
  isReplaced: boolean;
}

/** The plan so far: every eviction in the order made, and those settled. */
export interface PlanState {
  evictions: readonly PlannedEviction[];
  settled: ReadonlySet<string>;
}

export const podKey = (pod: { namespace: string; name: string }) => qualifiedName(pod);

/** The disruption controller writes this PDB's status: it is current, not failed, not corrupt. */
function isMaintained(pdb: PdbFacts): boolean {
  return !isStatusStale(pdb) && syncFailure(pdb) === undefined && pdb.status.disruptionsAllowed >= 0;
}

/**
 * A PDB's status with the plan applied. The API server's own writes (disruptionsAllowed − 1, the
 * pod in disruptedPods) are what the controller then confirms: the pod in flight no longer counts
 * as healthy, and the budget is currentHealthy − desiredHealthy again once it is replaced.
 * `evictedAt` stamps the disruptedPods entries.
 */
function pdbWithPlan(pdb: PdbFacts, state: PlanState, evictedAt: string): PdbFacts {
  const name = qualifiedName(pdb);
  const selected = state.evictions.filter((eviction) => eviction.pdbs.includes(name));
  if (selected.length === 0 || !isMaintained(pdb)) return pdb;
  let lost = 0;
  let gained = 0;
  const disruptedPods: Record<string, string> = { ...pdb.status.disruptedPods };
  for (const eviction of selected) {
    if (!state.settled.has(eviction.key)) {
      if (eviction.wasHealthy) lost++;
      if (eviction.usedBudget) disruptedPods[eviction.pod.name] = evictedAt;
      continue;
    }
    // Gone: the controller prunes its entry. A replacement is Ready (the plan's assumption).
    delete disruptedPods[eviction.pod.name];
    if (eviction.isReplaced && !eviction.wasHealthy) gained++;
    if (!eviction.isReplaced && eviction.wasHealthy) lost++;
  }
  const { status } = pdb;
  const currentHealthy = status.currentHealthy - lost + gained;
  // Relative to the status as read, and never above what the controller would compute.
  const disruptionsAllowed = Math.max(0, Math.min(status.disruptionsAllowed + gained - lost, currentHealthy - status.desiredHealthy));
  return { ...pdb, status: { ...status, currentHealthy, disruptionsAllowed, disruptedPods } };
}

/**
 * The policies' view: planned evictions in flight are recorded disruptions (the same hook the
 * cluster's own records flow through); settled pods left their node, and those nobody replaces
 * left the cluster.
 */
function contextWithPlan(context: EvictionContext, state: PlanState, planned: ReadonlyMap<string, PlannedEviction>): EvictionContext {
  const isGone = (pod: PodFacts, scope: DisruptionScope) => {
    const eviction = planned.get(podKey(pod));
    return eviction !== undefined && state.settled.has(eviction.key) && (scope === 'node' || !eviction.isReplaced);
  };
  return {
    namespace: context.namespace,
    owner: context.owner,
    peers: (scope) => context.peers(scope).filter((pod) => !isGone(pod, scope)),
    isRecordedDisruption: (pod) => {
      const eviction = planned.get(podKey(pod));
      return eviction === undefined ? context.isRecordedDisruption(pod) : !state.settled.has(eviction.key);
    },
  };
}

/** A pod of the namespace as the plan left it: terminating, replaced (a Ready stand-in), or gone. */
function podWithPlan(pod: PodFacts, state: PlanState, planned: ReadonlyMap<string, PlannedEviction>): PodFacts[] {
  const eviction = planned.get(podKey(pod));
  if (eviction === undefined) return [pod];
  if (!state.settled.has(eviction.key)) return [{ ...pod, deleting: true }];
  return eviction.isReplaced ? [{ ...pod, ready: true, deleting: false }] : [];
}

/** The facts of one eviction attempt with the plan applied. */
export function factsWithPlan(facts: EvictionFacts, state: PlanState, now: Date): EvictionFacts {
  if (state.evictions.length === 0) return facts;
  const planned = new Map(state.evictions.map((eviction) => [eviction.key, eviction]));
  const evictedAt = now.toISOString().replace(/\.\d+Z$/, 'Z');
  return {
    ...facts,
    pdbs: facts.pdbs.map((pdb) => pdbWithPlan(pdb, state, evictedAt)),
    podsInNamespace: () => facts.podsInNamespace().flatMap((pod) => podWithPlan(pod, state, planned)),
    ...(facts.context ? { context: contextWithPlan(facts.context, state, planned) } : {}),
  };
}
