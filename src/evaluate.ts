import { performance } from 'node:perf_hooks';
import { contextFromFacts } from './cluster/context';
import type { ClusterView } from './cluster/view';
import { decide, failOpenVerdict } from './decide';
import type { EvictionAttempt, EvictionFacts, PodFacts, ReservationView, Verdict } from './domain';
import type { DecisionContext } from './audit/record';
import type { PolicyEvaluation } from './policy/engine';
import type { PolicyCheckInputs } from './policy/service';
import { RESERVATION_BUDGET_MS, type Reserver } from './reservation/reserver';

/**
 * The policy findings for an attempt, and the slots its counting rules claim (policy/engine.ts via
 * PolicyService). `inputs` say which read or write the decision needed failed.
 */
export type PolicyCheck = (attempt: EvictionAttempt, facts: EvictionFacts, inputs?: PolicyCheckInputs) => PolicyEvaluation;

const NO_POLICIES: PolicyCheck = () => ({ findings: [], claims: [] });

/**
 * The API server waits timeoutSeconds (5 s in our manifests) for the whole answer; the reservation
 * step ends by this time after the request started, leaving room to encode and send the answer.
 */
export const ANSWER_DEADLINE_MS = 4500;

export interface EvaluateOptions {
  /** Reserves the evictions that counting rules claim; without one (check, the tools) nothing is reserved. */
  reserver?: Reserver;
  /**
   * May this request write a reservation for the pod, as read? Default yes. A request that may not
   * (one not believable enough for side effects: security/side-effects.ts) is still counted against
   * the reservations, as a dry run is. Asked only when a reservation would be written.
   */
  mayReserve?: (pod: PodFacts) => boolean;
}

export interface EvictionDecision {
  verdict: Verdict;
  context: DecisionContext;
  /** The facts the verdict rests on (read live when a denial was confirmed); undefined when the cluster could not be read. */
  facts?: EvictionFacts;
  /** The live read that should have confirmed a denial failed with this error, so the verdict failed open where it may. */
  confirmFailed?: string;
}

/** The webhook's answer for an attempt on these facts, reservations aside: decide() with the policies' findings. */
export function judgeEviction(attempt: EvictionAttempt, facts: EvictionFacts, checkPolicies: PolicyCheck = NO_POLICIES, confirmFailed?: string): Verdict {
  if (confirmFailed === undefined) return decide(attempt, facts, { extraFindings: checkPolicies(attempt, facts).findings });
  return decide(attempt, facts, { confirmFailed, extraFindings: checkPolicies(attempt, facts, { unconfirmed: confirmFailed }).findings });
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The imperative shell around decide(): read the facts, decide, and confirm a deny that rests on
 * cached state with a live read before answering (docs/architecture.md, "Cluster state"). An
 * allow that counting rules claim slots for is then reserved (reservation/reserver.ts).
 * It never throws: when the cluster cannot be read it fails open, because the API server still
 * applies the real PDB check after the webhook (docs/eviction-semantics.md §10.3).
 */
export async function evaluateEviction(
  attempt: EvictionAttempt,
  cluster: ClusterView,
  checkPolicies: PolicyCheck = NO_POLICIES,
  options: EvaluateOptions = {},
): Promise<EvictionDecision> {
  const started = performance.now();
  const startedAt = Date.now();
  const finish = (
    verdict: Verdict,
    facts: EvictionFacts | undefined,
    confirmedLive: boolean,
    { reservation, confirmFailed }: { reservation?: DecisionContext['reservation']; confirmFailed?: string } = {},
  ): EvictionDecision => ({
    verdict,
    ...(facts === undefined ? {} : { facts }),
    ...(confirmFailed === undefined ? {} : { confirmFailed }),
    context: {
      nodeName: facts?.pod?.nodeName,
      podUid: facts?.pod?.uid,
      factSource: facts?.source ?? 'none',
      confirmedLive,
      latencyMs: performance.now() - started,
      ...(reservation ? { reservation } : {}),
    },
  });

  let facts: EvictionFacts;
  try {
    facts = await cluster.facts(attempt.namespace, attempt.podName);
  } catch (error) {
    return finish(failOpenVerdict(`could not read pod ${attempt.namespace}/${attempt.podName}: ${describeError(error)}`), undefined, false);
  }

  let policies = checkPolicies(attempt, facts);
  let verdict = decide(attempt, facts, { extraFindings: policies.findings });
  let confirmedLive = false;
  if (!verdict.allowed && facts.source === 'cache') {
    let confirmedFacts: EvictionFacts;
    try {
      confirmedFacts = await cluster.confirm(attempt.namespace, attempt.podName);
    } catch (error) {
      const confirmFailed = describeError(error);
      return finish(judgeEviction(attempt, facts, checkPolicies, confirmFailed), facts, false, { confirmFailed });
    }
    facts = confirmedFacts;
    confirmedLive = true;
    policies = checkPolicies(attempt, facts);
    verdict = decide(attempt, facts, { extraFindings: policies.findings });
  }

  const { pod } = facts;
  if (!verdict.allowed || policies.claims.length === 0 || options.reserver === undefined || pod === undefined) return finish(verdict, facts, confirmedLive);

  // One context for every decision below, so the rules count each scope's pods once per view of the reservations.
  const counted: EvictionFacts = { ...facts, context: facts.context ?? contextFromFacts(pod, facts) };
  const decideWith = (reservations: ReservationView | undefined, inputs?: PolicyCheckInputs) => {
    policies = checkPolicies(attempt, reservations ? { ...counted, reservations } : counted, inputs);
    verdict = decide(attempt, counted, { extraFindings: policies.findings });
    return verdict;
  };
  const { outcome, view } = await options.reserver.reserve({
    pod,
    claims: policies.claims.map((claim) => claim.scope),
    peers: (scope) => counted.context!.peers(scope.scope),
    decide: (reservations) => ({ allowed: decideWith(reservations).allowed, claims: policies.claims.map((claim) => claim.scope) }),
    write: !attempt.dryRun && (options.mayReserve === undefined || options.mayReserve(pod)),
    dryRun: attempt.dryRun,
    deadline: Math.min(Date.now() + RESERVATION_BUDGET_MS, startedAt + ANSWER_DEADLINE_MS),
  });
  if (outcome.result === 'failed') decideWith(view, { unreserved: outcome.error });
  return finish(verdict, counted, confirmedLive, { reservation: outcome });
}
