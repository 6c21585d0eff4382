import { checkRequirePdb } from '../../../src/policy/rules/require-pdb';
import { pdbFacts } from '../../helpers/facts';
import { ruleInput } from '../../helpers/policies';

describe('requirePDB rule', () => {
  it('passes when a PDB selects the pod', () => {
    expect(checkRequirePdb(ruleInput({ pdbs: [pdbFacts('web-pdb')] }))).toBeUndefined();
  });

  it('denies for good when none does', () => {
    expect(checkRequirePdb(ruleInput({ pdbs: [] }))).toEqual({
      message: 'No PodDisruptionBudget selects pod shop/web-1; this policy allows evicting only pods a PDB protects.',
      summary: 'no PDB selects pod shop/web-1',
      hint: "create a PodDisruptionBudget whose selector matches the pod's labels in namespace shop",
      retryable: false,
    });
  });
});
