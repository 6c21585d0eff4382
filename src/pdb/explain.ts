// Turns the mirrored API server decision into findings a human can act on: which PDB, its
// numbers, which of its pods are not Ready, whether it can ever allow a disruption, and the fix.
import type { Finding, PdbFacts, PodFacts } from '../domain';
import {
  BUDGET_VIOLATION_MESSAGE,
  DISRUPTED_PODS_TOO_BIG_MESSAGE,
  DISRUPTION_BUDGET_CAUSE,
  disruptedPodsTooBigCause,
  exhaustedBudgetCause,
  MAX_DISRUPTED_PODS,
  type MirrorOutcome,
  negativeBudgetCause,
  negativeBudgetMessage,
  OVERLAPPING_PDBS_MESSAGE,
  STALE_STATUS_RETRY_AFTER_SECONDS,
  stalePdbCause,
} from './mirror';
import { describeSelector, selectorMatches } from './selector';

/** Stable check ids; they appear in logs, metrics, audit annotations and messages. */
export const PDB_CHECKS = {
  podNotFound: 'pdb/pod-not-found',
  bypass: 'pdb/bypass',
  none: 'pdb/none',
  overlap: 'pdb/overlap',
  unreadyShortcut: 'pdb/unready-pod',
  stale: 'pdb/stale',
  negative: 'pdb/negative',
  disruptedPods: 'pdb/disrupted-pods',
  budget: 'pdb/budget',
} as const;

/** How many pod names an explanation lists before saying "and N more". */
const MAX_NAMED_PODS = 5;
export const MAX_WARNING_LENGTH = 120;

export const qualifiedName = (object: { namespace: string; name: string }) => `${object.namespace}/${object.name}`;

export function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function listNames(names: readonly string[], max = MAX_NAMED_PODS): string {
  const shown = names.slice(0, max).join(', ');
  return names.length > max ? `${shown} and ${names.length - max} more` : shown;
}

/** `minAvailable=3`, `maxUnavailable=10%`, as in `kubectl get pdb`. */
export function describeBudgetSpec(pdb: PdbFacts): string {
  if (pdb.minAvailable !== undefined) return `minAvailable=${pdb.minAvailable}`;
  if (pdb.maxUnavailable !== undefined) return `maxUnavailable=${pdb.maxUnavailable}`;
  return 'no minAvailable or maxUnavailable';
}

function describeNumbers(pdb: PdbFacts): string {
  const { expectedPods, desiredHealthy, currentHealthy, disruptionsAllowed } = pdb.status;
  return `expected ${expectedPods} pods, needs ${desiredHealthy} healthy, has ${currentHealthy}, allows ${disruptionsAllowed} disruptions`;
}

/** Why a PDB can never allow a disruption whatever the pods do, with the fix; undefined when it can. */
export interface NeverAllowsDiagnosis {
  reason: string;
  fix: string;
}

/** `expected` is how many pods the PDB is for: its status by default; lint counts the workloads' replicas. */
export function diagnoseNeverAllows(pdb: PdbFacts, expected = pdb.status.expectedPods): NeverAllowsDiagnosis | undefined {
  const { maxUnavailable, minAvailable } = pdb;
  if (maxUnavailable === 0 || maxUnavailable === '0%') {
    return { reason: `maxUnavailable is ${maxUnavailable}`, fix: 'set maxUnavailable to 1 (or a percentage above 0%)' };
  }
  if (minAvailable === '100%') {
    return { reason: 'minAvailable is 100%', fix: 'lower minAvailable below 100%, or use maxUnavailable: 1' };
  }
  if (typeof minAvailable === 'number' && expected > 0 && minAvailable >= expected) {
    return {
      reason: `minAvailable=${minAvailable} ${minAvailable === expected ? 'equals' : 'exceeds'} the ${expected} pods it selects`,
      fix: `scale the workload above ${minAvailable} replicas, or lower minAvailable below ${expected}`,
    };
  }
  return undefined;
}

/** The message of a SyncFailed DisruptionAllowed condition: the controller could not compute the status. */
export function syncFailure(pdb: PdbFacts): string | undefined {
  const condition = pdb.status.conditions.find((c) => c.type === 'DisruptionAllowed');
  return condition?.status === 'False' && condition.reason === 'SyncFailed' ? condition.message || 'no message' : undefined;
}

/** Pods the PDB selects that are not Ready (and not already deleting): the ones holding the budget at 0. */
export function unreadySelectedPods(pdb: PdbFacts, podsInNamespace: readonly PodFacts[]): PodFacts[] {
  return podsInNamespace.filter((pod) => !pod.ready && !pod.deleting && selectorMatches(pdb.selector, pod.labels));
}

function explainExhaustedBudget(pdb: PdbFacts, podsInNamespace: () => readonly PodFacts[]): Finding {
  const name = qualifiedName(pdb);
  const sentences = [`PDB ${name} (${describeBudgetSpec(pdb)}) ${describeNumbers(pdb)}.`];
  const hints: string[] = [];
  let warning = `PDB ${name} allows 0 disruptions; kubectl drain retries every 5s`;

  const never = diagnoseNeverAllows(pdb);
  if (never) {
    sentences.push(`It can never allow a disruption: ${never.reason}, so drains of this node cannot finish.`);
    hints.push(never.fix);
    warning = `PDB ${name} can never allow a disruption (${never.reason}); drains cannot finish`;
  }

  const failure = syncFailure(pdb);
  if (failure) {
    sentences.push(`The disruption controller failed to sync it (SyncFailed: ${failure}).`);
    hints.push('check kube-controller-manager; PDBs over pods without a controller need an integer minAvailable');
  }

  const unready = unreadySelectedPods(pdb, podsInNamespace());
  if (unready.length > 0) {
    sentences.push(`Not Ready: ${listNames(unready.map(qualifiedName))}.`);
    if (!never) hints.push('make the pods that are not Ready healthy, then retry');
    if (!never) warning = `PDB ${name} allows 0 disruptions: ${unready.length} selected pod(s) not Ready`;
  }

  const inFlight = Object.keys(pdb.status.disruptedPods);
  if (inFlight.length > 0) sentences.push(`Evictions not yet confirmed by the PDB controller: ${listNames(inFlight)}.`);
  if (hints.length === 0) hints.push('wait for evicted pods to be replaced and become Ready; kubectl drain retries');

  return {
    check: PDB_CHECKS.budget,
    action: 'deny',
    code: 429,
    reason: 'TooManyRequests',
    upstreamMessage: BUDGET_VIOLATION_MESSAGE,
    causes: [{ type: DISRUPTION_BUDGET_CAUSE, message: exhaustedBudgetCause(pdb) }],
    message: sentences.join(' '),
    hint: hints.join('; '),
    warning: clip(warning, MAX_WARNING_LENGTH),
    pdbs: [name],
  };
}

/** The finding that explains a mirrored outcome. Denying outcomes carry the API server's code, reason and message. */
export function explainMirror(outcome: MirrorOutcome, podsInNamespace: () => readonly PodFacts[]): Finding {
  switch (outcome.step) {
    case 'pod-not-found':
      return { check: PDB_CHECKS.podNotFound, action: 'audit', message: 'The pod does not exist; the API server will answer 404 NotFound.' };
    case 'ignores-pdbs': {
      const state = { terminal: `has finished (phase ${outcome.pod.phase})`, pending: 'is Pending', deleting: 'is already being deleted' }[outcome.why];
      return {
        check: PDB_CHECKS.bypass,
        action: 'audit',
        message: `Pod ${qualifiedName(outcome.pod)} ${state}, so the API server deletes it without checking PDBs.`,
      };
    }
    case 'no-pdb':
      return { check: PDB_CHECKS.none, action: 'audit', message: `No PDB selects pod ${qualifiedName(outcome.pod)}.` };
    case 'overlapping-pdbs': {
      // By name, as the API server lists them, so the message does not depend on cache order.
      const pdbs = [...outcome.pdbs].sort((a, b) => a.name.localeCompare(b.name));
      const names = pdbs.map(qualifiedName);
      const listed = pdbs.map((pdb) => `${qualifiedName(pdb)} (selector ${describeSelector(pdb.selector)})`).join(', ');
      return {
        check: PDB_CHECKS.overlap,
        action: 'deny',
        code: 500,
        reason: '',
        upstreamMessage: OVERLAPPING_PDBS_MESSAGE,
        message: `Pod ${qualifiedName(outcome.pod)} is selected by ${names.length} PDBs: ${listed}.`,
        hint: 'make the PDB selectors disjoint, or delete all but one of these PDBs',
        warning: clip(`pod is under ${names.length} overlapping PDBs (${names.join(', ')}); eviction is impossible`, MAX_WARNING_LENGTH),
        pdbs: names,
      };
    }
    case 'unready-pod-shortcut': {
      const { pdb } = outcome;
      const why =
        pdb.unhealthyPodEvictionPolicy === 'AlwaysAllow'
          ? 'unhealthyPodEvictionPolicy is AlwaysAllow'
          : `the budget is met (${pdb.status.currentHealthy} healthy, ${pdb.status.desiredHealthy} needed)`;
      return {
        check: PDB_CHECKS.unreadyShortcut,
        action: 'audit',
        message: `Pod ${qualifiedName(outcome.pod)} is not Ready and ${why}, so PDB ${qualifiedName(pdb)} lets it go without using its budget.`,
        pdbs: [qualifiedName(pdb)],
      };
    }
    case 'stale-status': {
      const { pdb } = outcome;
      const name = qualifiedName(pdb);
      return {
        check: PDB_CHECKS.stale,
        action: 'deny',
        code: 429,
        reason: 'TooManyRequests',
        upstreamMessage: BUDGET_VIOLATION_MESSAGE,
        causes: [{ type: DISRUPTION_BUDGET_CAUSE, message: stalePdbCause(pdb.name) }],
        retryAfterSeconds: STALE_STATUS_RETRY_AFTER_SECONDS,
        message: `PDB ${name} has not been processed since its last change (observedGeneration ${pdb.status.observedGeneration ?? 0} < generation ${pdb.generation}).`,
        hint: 'retry in a few seconds; if it persists, check that kube-controller-manager is running',
        warning: clip(`PDB ${name} status is stale (not yet processed by the disruption controller)`, MAX_WARNING_LENGTH),
        pdbs: [name],
      };
    }
    case 'negative-budget': {
      const { pdb } = outcome;
      const name = qualifiedName(pdb);
      return {
        check: PDB_CHECKS.negative,
        action: 'deny',
        code: 403,
        reason: 'Forbidden',
        upstreamMessage: negativeBudgetMessage(pdb.name),
        causes: [{ type: DISRUPTION_BUDGET_CAUSE, message: negativeBudgetCause(pdb.name) }],
        message: `PDB ${name} reports ${pdb.status.disruptionsAllowed} disruptions allowed, which the disruption controller never writes.`,
        hint: 'check what writes this PDB status; the disruption controller clamps it at 0',
        pdbs: [name],
      };
    }
    case 'too-many-disrupted-pods': {
      const { pdb } = outcome;
      const name = qualifiedName(pdb);
      return {
        check: PDB_CHECKS.disruptedPods,
        action: 'deny',
        code: 403,
        reason: 'Forbidden',
        upstreamMessage: DISRUPTED_PODS_TOO_BIG_MESSAGE,
        causes: [{ type: DISRUPTION_BUDGET_CAUSE, message: disruptedPodsTooBigCause(pdb.name) }],
        message: `PDB ${name} has ${Object.keys(pdb.status.disruptedPods).length} evictions not yet confirmed (limit ${MAX_DISRUPTED_PODS}).`,
        hint: 'check that kube-controller-manager (disruption controller) is running and syncing this PDB',
        pdbs: [name],
      };
    }
    case 'budget-exhausted':
      return explainExhaustedBudget(outcome.pdb, podsInNamespace);
    case 'budget-available': {
      const { pdb } = outcome;
      return {
        check: PDB_CHECKS.budget,
        action: 'audit',
        message: `PDB ${qualifiedName(pdb)} (${describeBudgetSpec(pdb)}) allows ${pdb.status.disruptionsAllowed} disruption(s); this eviction uses one.`,
        pdbs: [qualifiedName(pdb)],
      };
    }
  }
}
