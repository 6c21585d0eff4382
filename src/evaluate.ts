import { performance } from 'node:perf_hooks';
import type { ClusterView } from './cluster/view';
import { decide, failOpenVerdict } from './decide';
import type { EvictionAttempt, EvictionFacts, Finding, Verdict } from './domain';
import type { DecisionContext } from './audit/record';

/**
 * The policy findings for an attempt (policy/engine.ts via PolicyService). `unconfirmed` is the
 * error of a failed live read that should have confirmed a denial from cached state.
 */
export type PolicyCheck = (attempt: EvictionAttempt, facts: EvictionFacts, unconfirmed?: string) => readonly Finding[];

const NO_POLICIES: PolicyCheck = () => [];

export interface EvictionDecision {
  verdict: Verdict;
  context: DecisionContext;
  /** The facts the verdict rests on (read live when a denial was confirmed); undefined when the cluster could not be read. */
  facts?: EvictionFacts;
  /** The live read that should have confirmed a denial failed with this error, so the verdict failed open where it may. */
  confirmFailed?: string;
}

/** The webhook's answer for an attempt on these facts: decide() with the policies' findings. */
export function judgeEviction(attempt: EvictionAttempt, facts: EvictionFacts, checkPolicies: PolicyCheck = NO_POLICIES, confirmFailed?: string): Verdict {
  return decide(attempt, facts, { ...(confirmFailed === undefined ? {} : { confirmFailed }), extraFindings: checkPolicies(attempt, facts, confirmFailed) });
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The imperative shell around decide(): read the facts, decide, and confirm a deny that rests on
 * cached state with a live read before answering (docs/architecture.md, "Cluster state").
 * It never throws: when the cluster cannot be read it fails open, because the API server still
 * applies the real PDB check after the webhook (docs/eviction-semantics.md §10.3).
 */
export async function evaluateEviction(attempt: EvictionAttempt, cluster: ClusterView, checkPolicies: PolicyCheck = NO_POLICIES): Promise<EvictionDecision> {
  const started = performance.now();
  const finish = (verdict: Verdict, facts: EvictionFacts | undefined, confirmedLive: boolean, confirmFailed?: string): EvictionDecision => ({
    verdict,
    ...(facts === undefined ? {} : { facts }),
    ...(confirmFailed === undefined ? {} : { confirmFailed }),
    context: {
      nodeName: facts?.pod?.nodeName,
      podUid: facts?.pod?.uid,
      factSource: facts?.source ?? 'none',
      confirmedLive,
      latencyMs: performance.now() - started,
    },
  });

  let facts: EvictionFacts;
  try {
    facts = await cluster.facts(attempt.namespace, attempt.podName);
  } catch (error) {
    return finish(failOpenVerdict(`could not read pod ${attempt.namespace}/${attempt.podName}: ${describeError(error)}`), undefined, false);
  }

  const verdict = judgeEviction(attempt, facts, checkPolicies);
  if (verdict.allowed || facts.source !== 'cache') return finish(verdict, facts, false);

  let confirmedFacts: EvictionFacts;
  try {
    confirmedFacts = await cluster.confirm(attempt.namespace, attempt.podName);
  } catch (error) {
    const confirmFailed = describeError(error);
    return finish(judgeEviction(attempt, facts, checkPolicies, confirmFailed), facts, false, confirmFailed);
  }
  return finish(judgeEviction(attempt, confirmedFacts, checkPolicies), confirmedFacts, true);
}
