import { qualifiedName } from '../../pdb/explain';
import type { RuleInput, Violation } from './types';

/** `protect: {}`: the pods a policy selects are never evicted. */
export function checkProtect(input: RuleInput): Violation {
  const pod = qualifiedName(input.pod);
  return {
    message: `Pod ${pod} is protected: this policy does not allow evicting it.`,
    summary: `pod ${pod} is protected`,
    hint: 'change the policy if the pod may go, or delete the pod directly',
    retryable: false,
  };
}
