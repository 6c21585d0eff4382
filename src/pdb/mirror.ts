// The API server's eviction decision (k/k pkg/registry/core/pod/storage/eviction.go), step by step
// in the order of docs/eviction-semantics.md §1, so the two can be read side by side. Pure: it only
// says which step ends the request; explain.ts turns that into words.
import type { PdbFacts, PodFacts } from '../domain';
import { selectorMatches } from './selector';

/** policyv1.DisruptionBudgetCause. */
export const DISRUPTION_BUDGET_CAUSE = 'DisruptionBudget';
/** Step 7a: returned as a bare Status with code 500 and no reason. */
export const OVERLAPPING_PDBS_MESSAGE = 'This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.';
/** Steps 9a and 9d: the top-level 429 message. */
export const BUDGET_VIOLATION_MESSAGE = "Cannot evict pod as it would violate the pod's disruption budget.";
/** Step 9c: MaxDisruptedPodSize. */
export const MAX_DISRUPTED_PODS = 2000;
export const DISRUPTED_PODS_TOO_BIG_MESSAGE = 'DisruptedPods map too big - too many evictions not confirmed by PDB controller';
/** Step 9a: the API server asks clients to come back after 10 seconds. */
export const STALE_STATUS_RETRY_AFTER_SECONDS = 10;

export const stalePdbCause = (pdb: string) => `The disruption budget ${pdb} is still being processed by the server.`;
export const negativeBudgetMessage = (pdb: string) => `poddisruptionbudget.policy "${pdb}" is forbidden: pdb disruptions allowed is negative`;
export const negativeBudgetCause = (pdb: string) =>
  `The disruption budget ${pdb} does not allow evicting pods currently: pdb disruptions allowed is negative`;
export const disruptedPodsTooBigCause = (pdb: string) =>
  `The disruption budget ${pdb} does not allow evicting pods currently: too many pending evictions not confirmed by PDB controller`;

/** Which step of §1 ends the request, with what it needs to be explained. */
export type MirrorOutcome =
  /** Step 5: the API server answers 404; the webhook has nothing to guard. */
  | { step: 'pod-not-found' }
  /** Step 6: terminal, Pending or deleting pods are deleted without reading PDBs. */
  | { step: 'ignores-pdbs'; pod: PodFacts; why: 'terminal' | 'pending' | 'deleting' }
  /** Step 7a: 500. */
  | { step: 'overlapping-pdbs'; pod: PodFacts; pdbs: PdbFacts[] }
  /** Step 7b. */
  | { step: 'no-pdb'; pod: PodFacts }
  /** Step 8: an unready pod is evicted without consuming budget. */
  | { step: 'unready-pod-shortcut'; pod: PodFacts; pdb: PdbFacts }
  /** Step 9a: 429, Retry-After 10. */
  | { step: 'stale-status'; pod: PodFacts; pdb: PdbFacts }
  /** Step 9b: 403. */
  | { step: 'negative-budget'; pod: PodFacts; pdb: PdbFacts }
  /** Step 9c: 403. */
  | { step: 'too-many-disrupted-pods'; pod: PodFacts; pdb: PdbFacts }
  /** Step 9d: 429. */
  | { step: 'budget-exhausted'; pod: PodFacts; pdb: PdbFacts }
  /** Step 9e: allowed, consuming one disruption. */
  | { step: 'budget-available'; pod: PodFacts; pdb: PdbFacts };

export type MirrorStep = MirrorOutcome['step'];

/** canIgnorePDB: PR #68892 (terminal), PR #83906 (Pending), PR #91342 (deleting; fixes drains hanging on #91141). */
export function pdbBypassReason(pod: PodFacts): 'terminal' | 'pending' | 'deleting' | undefined {
  if (pod.phase === 'Succeeded' || pod.phase === 'Failed') return 'terminal';
  if (pod.phase === 'Pending') return 'pending';
  if (pod.deleting) return 'deleting';
  return undefined;
}

/** getPodDisruptionBudgets: the PDBs of the pod's namespace whose selector parses and selects the pod. */
export function matchingPdbs(pod: PodFacts, pdbs: readonly PdbFacts[]): PdbFacts[] {
  return pdbs.filter((pdb) => pdb.namespace === pod.namespace && selectorMatches(pdb.selector, pod.labels));
}

/**
 * Step 8 (docs/eviction-semantics.md §4). AlwaysAllow evicts any unready pod; anything else behaves like
 * IfHealthyBudget. It reads the status as is: no observedGeneration check, no SyncFailed (#99598).
 */
export function unreadyPodMayBypassBudget(pod: PodFacts, pdb: PdbFacts): boolean {
  if (pod.ready) return false;
  if (pdb.unhealthyPodEvictionPolicy === 'AlwaysAllow') return true;
  const { currentHealthy, desiredHealthy } = pdb.status;
  return currentHealthy >= desiredHealthy && desiredHealthy > 0;
}

export function isStatusStale(pdb: PdbFacts): boolean {
  return pdb.generation !== undefined && (pdb.status.observedGeneration ?? 0) < pdb.generation;
}

/** What kube-apiserver will do with an eviction of `pod`, given every PDB of its namespace. */
export function mirrorEviction(pod: PodFacts | undefined, pdbs: readonly PdbFacts[]): MirrorOutcome {
  if (pod === undefined) return { step: 'pod-not-found' };

  const bypass = pdbBypassReason(pod);
  if (bypass !== undefined) return { step: 'ignores-pdbs', pod, why: bypass };

  const matched = matchingPdbs(pod, pdbs);
  // Checked before the unready shortcut: an unready pod under two PDBs gets the 500 even with AlwaysAllow.
  if (matched.length > 1) return { step: 'overlapping-pdbs', pod, pdbs: matched };
  if (matched.length === 0) return { step: 'no-pdb', pod };
  const pdb = matched[0];

  if (unreadyPodMayBypassBudget(pod, pdb)) return { step: 'unready-pod-shortcut', pod, pdb };

  // checkAndDecrement, in its own order.
  if (isStatusStale(pdb)) return { step: 'stale-status', pod, pdb };
  if (pdb.status.disruptionsAllowed < 0) return { step: 'negative-budget', pod, pdb };
  if (Object.keys(pdb.status.disruptedPods).length > MAX_DISRUPTED_PODS) return { step: 'too-many-disrupted-pods', pod, pdb };
  if (pdb.status.disruptionsAllowed === 0) return { step: 'budget-exhausted', pod, pdb };
  return { step: 'budget-available', pod, pdb };
}

/**
 * The DisruptionBudget cause of the step 9d 429. Since PR #133097 (fixes #106286) the
 * DisruptionAllowed condition picks the text; before it, it was always the "needs … has …" line.
 */
export function exhaustedBudgetCause(pdb: PdbFacts): string {
  const { name, status } = pdb;
  const condition = status.conditions.find((c) => c.type === 'DisruptionAllowed');
  if (condition?.status === 'False' && condition.reason === 'SyncFailed' && condition.message) {
    return `The disruption budget ${name} does not allow evicting pods currently because it failed sync: ${condition.message}`;
  }
  if (status.currentHealthy <= status.desiredHealthy) {
    return `The disruption budget ${name} needs ${status.desiredHealthy} healthy pods and has ${status.currentHealthy} currently`;
  }
  if (condition?.status === 'False' && condition.message) {
    return `The disruption budget ${name} does not allow evicting pods currently (${condition.reason ?? ''}): ${condition.message}`;
  }
  return `The disruption budget ${name} does not allow evicting pods currently`;
}
