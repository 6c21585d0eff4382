import type { OwnerFacts } from '../../domain';
import { qualifiedName } from '../../pdb/explain';
import type { RuleInput, Violation } from './types';

export function describeOwner(owner: OwnerFacts, namespace: string): string {
  return `${owner.kind} ${qualifiedName({ namespace, name: owner.name })}`;
}

/** `minReplicas: N`: the owning workload must have at least N replicas (spec.replicas), a bare pod counting as 1. */
export function checkMinReplicas(replicas: number, input: RuleInput): Violation | undefined {
  const { owner } = input.context;
  if (owner.replicas >= replicas) return undefined;
  const workload = describeOwner(owner, input.pod.namespace);
  const has = `${owner.replicas} replica${owner.replicas === 1 ? '' : 's'}`;
  return {
    message: `${workload} has ${has}; this policy allows evictions only from workloads with at least ${replicas}.`,
    summary: `${workload} has ${has}, needs ${replicas}`,
    hint: owner.kind === 'Pod' ? `run the pod under a controller with at least ${replicas} replicas` : `scale ${workload} to at least ${replicas} replicas`,
    retryable: false,
  };
}
