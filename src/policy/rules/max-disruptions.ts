import type { DisruptionScope, PodFacts, ScopeRef } from '../../domain';
import { scopeOf } from '../../reservation/record';
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

/** Pods the cluster shows in disruption come first; pods only the reservations count are listed after "reserved:". */
function namePods(pods: readonly PodFacts[], scope: DisruptionScope, isReservedOnly: (pod: PodFacts) => boolean): string {
  const name = (pod: PodFacts) => (scope === 'node' ? `${pod.namespace}/${pod.name}` : pod.name);
  const shown = pods.slice(0, MAX_NAMED_PODS);
  const seen = shown.filter((pod) => !isReservedOnly(pod)).map(name);
  const reserved = shown.filter(isReservedOnly).map(name);
  const names = [seen.join(', '), reserved.length > 0 ? `reserved: ${reserved.join(', ')}` : ''].filter((part) => part !== '').join('; ');
  return pods.length > MAX_NAMED_PODS ? `${names} and ${pods.length - MAX_NAMED_PODS} more` : names;
}

/** The cluster shows the pod in disruption: terminating, or listed in a PDB's status.disruptedPods. */
const isSeenInDisruption = (pod: PodFacts, { context }: RuleInput) => pod.deleting || context.isRecordedDisruption(pod);
const isInDisruption = (pod: PodFacts, input: RuleInput) => isSeenInDisruption(pod, input) || input.reservations.isReserved(pod);

/** The evicted pod already takes its slot in the scope: the cluster shows it in disruption, or it holds a reservation there. */
function holdsSlot(scope: ScopeRef | undefined, input: RuleInput): boolean {
  return isSeenInDisruption(input.pod, input) || (scope !== undefined && input.reservations.holds(scope, input.pod));
}

interface ScopeDisruptions {
  /** The pods of the scope that have not finished. */
  peers: readonly PodFacts[];
  /** Those of them in disruption, the evicted pod aside. */
  disrupted: readonly PodFacts[];
}

/**
 * Per request, reservations read and scope, so that the maxDisruptions rules of many policies count
 * a node's pods once. Keyed by the reservations as well: a decision taken again after reading them
 * counts anew.
 */
const countedScopes = new WeakMap<object, WeakMap<object, Map<DisruptionScope, ScopeDisruptions>>>();

function scopeDisruptions(scope: DisruptionScope, input: RuleInput): ScopeDisruptions {
  const { pod, context, reservations } = input;
  let byReservations = countedScopes.get(context);
  if (byReservations === undefined) {
    byReservations = new WeakMap();
    countedScopes.set(context, byReservations);
  }
  let scopes = byReservations.get(reservations);
  if (scopes === undefined) {
    scopes = new Map();
    byReservations.set(reservations, scopes);
  }
  let counted = scopes.get(scope);
  if (counted === undefined) {
    const peers = context.peers(scope).filter((other) => !isFinished(other));
    // Few peers are in disruption: test that first, and compare names (long shared prefixes) only then.
    const disrupted = peers.filter((other) => isInDisruption(other, input) && !(other.namespace === pod.namespace && other.name === pod.name));
    counted = { peers, disrupted };
    scopes.set(scope, counted);
  }
  return counted;
}

/**
 * `maxDisruptions`: at most `count` pods of the owner, namespace or node in disruption at once. A
 * pod is in disruption while it terminates (deletionTimestamp set), while a PDB lists it in
 * status.disruptedPods (evicted, deletion not yet seen), or while the webhook holds a reservation
 * for it (allowed a moment ago, before either shows). All three live in the cluster, so webhook
 * replicas agree without talking to each other.
 */
export function checkMaxDisruptions(rule: MaxDisruptionsRule, input: RuleInput): Violation | undefined {
  const { pod, context } = input;
  if (rule.per === 'node' && pod.nodeName === undefined) return undefined; // not scheduled: no node loses a pod
  // Evicting a pod that is already in disruption adds none.
  if (holdsSlot(scopeOf(rule.per, pod, context.owner), input)) return undefined;

  const { peers, disrupted } = scopeDisruptions(rule.per, input);
  const podsInScope = rule.per === 'owner' ? context.owner.replicas : peers.length;
  const limit = disruptionLimit(rule.limit, podsInScope);
  if (disrupted.length + 1 <= limit) return undefined;

  const scope = describeScope(rule, input);
  const basis = 'percent' in rule.limit ? ` (${rule.count} of ${podsInScope} ${rule.per === 'owner' ? 'replicas' : 'pods'}, rounded up)` : '';
  const already = disrupted.length === 1 ? '1 pod' : `${disrupted.length} pods`;
  const isReservedOnly = (other: PodFacts) => !isSeenInDisruption(other, input);
  const reserved = disrupted.some(isReservedOnly);
  return {
    message: `${already} ${scope} ${disrupted.length === 1 ? 'is' : 'are'} already in disruption (${namePods(disrupted, rule.per, isReservedOnly)}); the limit is ${limit}${basis}.`,
    summary: `${already} ${scope} already in disruption, limit ${limit}`,
    hint: `retry once they are replaced; kubectl drain retries on its own${reserved ? '. A reservation ends when its pod is seen terminating, or after its TTL' : ''}`,
    retryable: true,
  };
}

/**
 * The scope in which an allowed eviction must take a slot for `rule`: the pod counts there from now
 * on, so it is reserved before the answer. Undefined when it already holds one (a retry, a pod
 * already terminating) or its scope is one nobody shares.
 */
export function maxDisruptionsClaim(rule: MaxDisruptionsRule, input: RuleInput): ScopeRef | undefined {
  const scope = scopeOf(rule.per, input.pod, input.context.owner);
  return scope === undefined || holdsSlot(scope, input) ? undefined : scope;
}
