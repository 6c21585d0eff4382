import type { DisruptionScope, EvictionContext, PodFacts } from '../../domain';
import type { DisruptionLimit, MaxDisruptionsRule } from '../schema';
import { describeOwner } from './min-replicas';
import type { RuleInput, Violation } from './types';

/** How many pods a message names before saying "and N more". */
const MAX_NAMED_PODS = 5;

const isFinished = (pod: PodFacts) => pod.phase === 'Succeeded' || pod.phase === 'Failed';

/**
 * The most pods of the scope that may be in disruption at once. A percentage is of the pods in
 * scope (the owner's spec.replicas), rounded up as a PDB's maxUnavailable is, and at least 1 so
 * that a small workload can still be drained one pod at a time.
 */
export function disruptionLimit(limit: DisruptionLimit, podsInScope: number): number {
  if ('pods' in limit) return limit.pods;
  return Math.max(1, Math.ceil((podsInScope * limit.percent) / 100));
}

function describeScope(rule: MaxDisruptionsRule, input: RuleInput): string {
  const { pod, context } = input;
  if (rule.per === 'owner') return `of ${describeOwner(context.owner, pod.namespace)}`;
  if (rule.per === 'namespace') return `in namespace ${pod.namespace}`;
  return `on node ${pod.nodeName}`;
}

function namePods(pods: readonly PodFacts[], scope: DisruptionScope): string {
  const names = pods.slice(0, MAX_NAMED_PODS).map((pod) => (scope === 'node' ? `${pod.namespace}/${pod.name}` : pod.name));
  return pods.length > MAX_NAMED_PODS ? `${names.join(', ')} and ${pods.length - MAX_NAMED_PODS} more` : names.join(', ');
}

const isInDisruption = (pod: PodFacts, context: EvictionContext) => pod.deleting || context.isRecordedDisruption(pod);

interface ScopeDisruptions {
  /** The pods of the scope that have not finished. */
  peers: readonly PodFacts[];
  /** Those of them in disruption, the evicted pod aside. */
  disrupted: readonly PodFacts[];
}

/** Per request and scope, so that the maxDisruptions rules of many policies count a node's pods once. */
const countedScopes = new WeakMap<EvictionContext, Map<DisruptionScope, ScopeDisruptions>>();

function scopeDisruptions(scope: DisruptionScope, { pod, context }: RuleInput): ScopeDisruptions {
  let scopes = countedScopes.get(context);
  if (scopes === undefined) {
    scopes = new Map();
    countedScopes.set(context, scopes);
  }
  let counted = scopes.get(scope);
  if (counted === undefined) {
    const peers = context.peers(scope).filter((other) => !isFinished(other));
    // Few peers are in disruption: test that first, and compare names (long shared prefixes) only then.
    const disrupted = peers.filter((other) => isInDisruption(other, context) && !(other.namespace === pod.namespace && other.name === pod.name));
    counted = { peers, disrupted };
    scopes.set(scope, counted);
  }
  return counted;
}

/**
 * `maxDisruptions`: at most `count` pods of the owner, namespace or node in disruption at once. A
 * pod is in disruption while it terminates (deletionTimestamp set) or while a PDB lists it in
 * status.disruptedPods (evicted, deletion not yet seen). Both live in the cluster, so webhook
 * replicas agree without talking to each other.
 */
export function checkMaxDisruptions(rule: MaxDisruptionsRule, input: RuleInput): Violation | undefined {
  const { pod, context } = input;
  if (rule.per === 'node' && pod.nodeName === undefined) return undefined; // not scheduled: no node loses a pod
  // Evicting a pod that is already in disruption adds none.
  if (isInDisruption(pod, context)) return undefined;

  const { peers, disrupted } = scopeDisruptions(rule.per, input);
  const podsInScope = rule.per === 'owner' ? context.owner.replicas : peers.length;
  const limit = disruptionLimit(rule.limit, podsInScope);
  if (disrupted.length + 1 <= limit) return undefined;

  const scope = describeScope(rule, input);
  const basis = 'percent' in rule.limit ? ` (${rule.count} of ${podsInScope} ${rule.per === 'owner' ? 'replicas' : 'pods'}, rounded up)` : '';
  const already = disrupted.length === 1 ? '1 pod' : `${disrupted.length} pods`;
  return {
    message: `${already} ${scope} ${disrupted.length === 1 ? 'is' : 'are'} already in disruption (${namePods(disrupted, rule.per)}); the limit is ${limit}${basis}.`,
    summary: `${already} ${scope} already in disruption, limit ${limit}`,
    hint: 'retry once they are replaced; kubectl drain retries on its own',
    retryable: true,
  };
}
