// The cluster as a drain plan has changed it: the facts of one eviction with the plan's earlier
// evictions applied, so that decide() and the policies judge the next pod against them. Pure.
//
// A planned eviction is first in flight (the pod terminates: the API server has recorded it in its
// PDB's disruptedPods if it used the budget, and it counts as in disruption for the policies), then
// settled (the pod is gone; a pod with a controller has a Ready replacement on a node outside the
// plan). The PDB numbers follow the disruption controller: a healthy pod in flight is not healthy,
// a settled replacement is. An eviction the webhook reserved before the plan is in flight from the
// start, and a planned pod's reservation no longer counts: the plan says where the pod is.
import { plainPod } from '../domain';
import type { DisruptionScope, EvictionContext, EvictionFacts, PdbFacts, PodFacts, ReservationView } from '../domain';
import { qualifiedName, syncFailure } from '../pdb/explain';
import { isStatusStale } from '../pdb/mirror';

/** One eviction the plan has made. */
export interface PlannedEviction {
  /** namespace/name */
  key: string;
  pod: PodFacts;
  /** The PDBs of its namespace (by name) that select the pod: their health counts it. */
  pdbs: readonly string[];
  /** It went through the budget check (eviction.go step 9e): the API server decremented the PDB and recorded the pod. */
  usedBudget: boolean;
  /** Counted in currentHealthy before the eviction: Ready and not already terminating. */
  wasHealthy: boolean;
  /** A controller makes a replacement (terminal pods and pods without a controller are gone for good). */
  isReplaced: boolean;
  /** The webhook reserved it before the plan (reservedEviction()): in flight, it counts through its reservation, as the webhook counts it. */
  reserved?: boolean;
}

/** The plan so far: every eviction in the order made, and those settled. */
export interface PlanState {
  evictions: readonly PlannedEviction[];
  settled: ReadonlySet<string>;
}

export const podKey = (pod: { namespace: string; name: string }) => qualifiedName(pod);

/**
 * An eviction the webhook has reserved outside the plan (another drain's, an autoscaler's): allowed
 * a moment ago, in flight when the plan starts, and replaced like the plan's own. Its PDBs stay as
 * the cluster shows them: the API server records its own use of a budget, and a reservation does
 * not say whether it has done so yet.
 */
export function reservedEviction(pod: PodFacts): PlannedEviction {
  return { key: podKey(pod), pod, pdbs: [], usedBudget: false, wasHealthy: false, isReplaced: pod.owner !== undefined, reserved: true };
}

/** A namespace's planned evictions, by pod name and by the PDBs that select them. */
interface NamespacePlan {
  pods: Map<string, PlannedEviction>;
  byPdb: Map<string, PlannedEviction[]>;
}

/** The plan by namespace: looked up for every pod and PDB of a namespace on every decision, so without building keys. */
type PlannedIndex = ReadonlyMap<string, NamespacePlan>;

/** A plan only grows, one eviction at a time: its index is kept while its length has not changed. */
const indexes = new WeakMap<readonly PlannedEviction[], { length: number; index: PlannedIndex }>();

function indexOf(evictions: readonly PlannedEviction[]): PlannedIndex {
  const cached = indexes.get(evictions);
  if (cached?.length === evictions.length) return cached.index;
  const index = new Map<string, NamespacePlan>();
  for (const eviction of evictions) {
    let namespace = index.get(eviction.pod.namespace);
    if (namespace === undefined) index.set(eviction.pod.namespace, (namespace = { pods: new Map(), byPdb: new Map() }));
    namespace.pods.set(eviction.pod.name, eviction);
    for (const pdb of eviction.pdbs) namespace.byPdb.set(pdb, [...(namespace.byPdb.get(pdb) ?? []), eviction]);
  }
  indexes.set(evictions, { length: evictions.length, index });
  return index;
}

const plannedFor = (index: PlannedIndex, pod: PodFacts) => index.get(pod.namespace)?.pods.get(pod.name);

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
function pdbWithPlan(pdb: PdbFacts, selected: readonly PlannedEviction[] | undefined, state: PlanState, evictedAt: string): PdbFacts {
  if (selected === undefined || !isMaintained(pdb)) return pdb;
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
function contextWithPlan(context: EvictionContext, state: PlanState, planned: PlannedIndex): EvictionContext {
  const isGone = (pod: PodFacts, scope: DisruptionScope) => {
    const eviction = plannedFor(planned, pod);
    return eviction !== undefined && state.settled.has(eviction.key) && (scope === 'node' || !eviction.isReplaced);
  };
  return {
    namespace: context.namespace,
    // The plan evicts pods, it does not change their nodes (a drain's cordon is already in the Node read).
    get node() {
      return context.node;
    },
    owner: context.owner,
    peers: (scope) => context.peers(scope).filter((pod) => !isGone(pod, scope)),
    isRecordedDisruption: (pod) => {
      const eviction = plannedFor(planned, pod);
      return eviction === undefined || (eviction.reserved && !state.settled.has(eviction.key)) ? context.isRecordedDisruption(pod) : !state.settled.has(eviction.key);
    },
  };
}

/**
 * The reservations the decision counts, less those of pods the plan accounts for itself: those it
 * evicts (in flight or settled), and reserved evictions once settled (replaced, the reservation is over).
 */
function reservationsWithPlan(reservations: ReservationView, state: PlanState, planned: PlannedIndex): ReservationView {
  const counts = (pod: PodFacts) => {
    const eviction = plannedFor(planned, pod);
    return eviction === undefined || (eviction.reserved === true && !state.settled.has(eviction.key));
  };
  return {
    holds: (scope, pod) => counts(pod) && reservations.holds(scope, pod),
    isReserved: (pod) => counts(pod) && reservations.isReserved(pod),
  };
}

/** The pods of a namespace as the plan left them: terminating, replaced (a Ready stand-in), or gone. */
function podsWithPlan(pods: readonly PodFacts[], state: PlanState, planned: ReadonlyMap<string, PlannedEviction>): readonly PodFacts[] {
  const changed: PodFacts[] = [];
  for (const pod of pods) {
    const eviction = planned.get(pod.name);
    if (eviction === undefined) changed.push(pod);
    else if (!state.settled.has(eviction.key)) changed.push(plainPod(pod, { deleting: true }));
    else if (eviction.isReplaced) changed.push(plainPod(pod, { ready: true, deleting: false }));
  }
  return changed;
}

/** The facts of one eviction attempt with the plan applied. */
export function factsWithPlan(facts: EvictionFacts, state: PlanState, now: Date): EvictionFacts {
  if (state.evictions.length === 0) return facts;
  const planned = indexOf(state.evictions);
  const inNamespace = planned.get(facts.pod?.namespace ?? '');
  const evictedAt = now.toISOString().replace(/\.\d+Z$/, 'Z');
  return {
    ...facts,
    pdbs: inNamespace === undefined ? facts.pdbs : facts.pdbs.map((pdb) => pdbWithPlan(pdb, inNamespace.byPdb.get(pdb.name), state, evictedAt)),
    podsInNamespace: inNamespace === undefined ? facts.podsInNamespace : () => podsWithPlan(facts.podsInNamespace(), state, inNamespace.pods),
    ...(facts.context ? { context: contextWithPlan(facts.context, state, planned) } : {}),
    ...(facts.reservations ? { reservations: reservationsWithPlan(facts.reservations, state, planned) } : {}),
  };
}
