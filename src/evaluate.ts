import { performance } from 'node:perf_hooks';
import type { ClusterView } from './cluster/view';
import { decide, failOpenVerdict } from './decide';
import type { EvictionAttempt, EvictionFacts, Verdict } from './domain';
import type { DecisionContext } from './audit/record';

export interface EvictionDecision {
  verdict: Verdict;
  context: DecisionContext;
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The imperative shell around decide(): read the facts, decide, and confirm a deny that rests on
 * cached state with a live read before answering (design.md, "Fresh data before a deny").
 * It never throws: when the cluster cannot be read it fails open, because the API server still
 * applies the real PDB check after the webhook (eviction-semantics.md §10.3).
 */
export async function evaluateEviction(attempt: EvictionAttempt, cluster: ClusterView): Promise<EvictionDecision> {
  const started = performance.now();
  const finish = (verdict: Verdict, facts: EvictionFacts | undefined, confirmedLive: boolean): EvictionDecision => ({
    verdict,
    context: {
      nodeName: facts?.pod?.nodeName,
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

  const verdict = decide(attempt, facts);
  if (verdict.allowed || facts.source !== 'cache') return finish(verdict, facts, false);

  let confirmedFacts: EvictionFacts;
  try {
    confirmedFacts = await cluster.confirm(attempt.namespace, attempt.podName);
  } catch (error) {
    return finish(decide(attempt, facts, { confirmFailed: describeError(error) }), facts, false);
  }
  return finish(decide(attempt, confirmedFacts), confirmedFacts, true);
}
