// EvictionPolicies for tests, written as the YAML users write.
import { parse } from 'yaml';
import { contextFromFacts } from '../../src/cluster/context';
import type { EvictionAttempt, EvictionContext, PdbFacts, PodFacts, ReservationView } from '../../src/domain';
import { NO_RESERVATIONS } from '../../src/reservation/record';
import type { CelVariables } from '../../src/policy/cel';
import { celVariables } from '../../src/policy/variables';
import type { RuleInput } from '../../src/policy/rules/types';
import { parsePolicy, type EvictionPolicy } from '../../src/policy/schema';
import { attemptFor, factsFor, podFacts } from './facts';

/** A valid policy from the spec's YAML; throws with the validation message otherwise. */
export function policy(name: string, specYaml: string): EvictionPolicy {
  const result = parsePolicy({ apiVersion: 'evictionguard.io/v1alpha1', kind: 'EvictionPolicy', metadata: { name }, spec: parse(specYaml) }, 'test');
  if ('error' in result) throw new Error(result.error.message);
  return result.policy;
}

/** The validation message for a spec (undefined when it is valid). */
export function policyError(specYaml: string, name = 'p'): string | undefined {
  const result = parsePolicy({ apiVersion: 'evictionguard.io/v1alpha1', kind: 'EvictionPolicy', metadata: { name }, spec: parse(specYaml) }, 'test');
  return 'error' in result ? result.error.message : undefined;
}

export interface RuleInputOptions {
  pod?: PodFacts;
  pdbs?: PdbFacts[];
  others?: PodFacts[];
  attempt?: Partial<EvictionAttempt>;
  context?: Partial<EvictionContext>;
  reservations?: ReservationView;
  now?: Date;
}

/** What a rule sees, from test facts: the context comes from the facts unless overridden. */
export function ruleInput(options: RuleInputOptions = {}): RuleInput {
  const pod = options.pod ?? podFacts('web-1');
  const pdbs = options.pdbs ?? [];
  const attempt = attemptFor(pod.name, options.attempt);
  const context = { ...contextFromFacts(pod, factsFor(pod, pdbs, options.others ?? [])), ...options.context };
  const now = options.now ?? new Date('2024-06-05T10:00:00Z');
  const reservations = options.reservations ?? NO_RESERVATIONS;
  // Built once and shared by the rules, as the engine does for one eviction.
  let variables: CelVariables | undefined;
  return { attempt, pod, pdbs, context, reservations, now, celVariables: () => (variables ??= celVariables(attempt, pod, pdbs, context, now)) };
}
