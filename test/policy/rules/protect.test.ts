import { checkProtect } from '../../../src/policy/rules/protect';
import { ruleInput } from '../../helpers/policies';

describe('protect rule', () => {
  it('is always violated for the pods its policy selects, and retrying will not help', () => {
    expect(checkProtect(ruleInput())).toEqual({
      message: 'Pod shop/web-1 is protected: this policy does not allow evicting it.',
      summary: 'pod shop/web-1 is protected',
      hint: 'change the policy if the pod may go, or delete the pod directly',
      retryable: false,
    });
  });
});
