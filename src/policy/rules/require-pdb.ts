import { qualifiedName } from '../../pdb/explain';
import type { RuleInput, Violation } from './types';

/** `requirePDB: true`: some PodDisruptionBudget must select the pod. */
export function checkRequirePdb(input: RuleInput): Violation | undefined {
  if (input.pdbs.length > 0) return undefined;
  const pod = qualifiedName(input.pod);
  return {
    message: `No PodDisruptionBudget selects pod ${pod}; this policy allows evicting only pods a PDB protects.`,
    summary: `no PDB selects pod ${pod}`,
    hint: `create a PodDisruptionBudget whose selector matches the pod's labels in namespace ${input.pod.namespace}`,
    retryable: false,
  };
}
