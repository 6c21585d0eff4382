import { checkCel } from '../../../src/policy/rules/cel';
import type { CelRule } from '../../../src/policy/schema';
import { pdbFacts, podFacts } from '../../helpers/facts';
import { policy, ruleInput } from '../../helpers/policies';

const celRule = (yaml: string) => policy('c', `rules: [{ cel: ${yaml} }]`).rules[0] as CelRule;

describe('cel rule', () => {
  it('passes when the expression is true', () => {
    expect(checkCel(celRule('{ expression: "owner.replicas - 1 >= 1" }'), ruleInput({ others: [podFacts('web-2')] }))).toBeUndefined();
  });

  it('is violated when it is false, with the message, retrying will not help', () => {
    expect(checkCel(celRule('{ expression: "owner.replicas - 1 >= 2", message: "keep two" }'), ruleInput())).toEqual({
      violation: { message: 'keep two', summary: 'keep two', retryable: false },
    });
    expect(checkCel(celRule('{ expression: "false" }'), ruleInput())).toEqual({
      violation: { message: 'The CEL rule is false: false', summary: 'The CEL rule is false: false', retryable: false },
    });
  });

  it('builds the message from messageExpression, falling back to message when it fails', () => {
    const rule = celRule('{ expression: "size(pdbs) > 1", messageExpression: "\\"only \\" + string(size(pdbs)) + \\" PDB for \\" + pod.name", message: fallback }');
    expect(checkCel(rule, ruleInput({ pdbs: [pdbFacts('web-pdb')] }))).toMatchObject({ violation: { message: 'only 1 PDB for web-1' } });
    const failing = celRule('{ expression: "false", messageExpression: "pod.labels.missing", message: fallback }');
    expect(checkCel(failing, ruleInput())).toMatchObject({ violation: { message: 'fallback' } });
    const notString = celRule('{ expression: "false", messageExpression: "1" }');
    expect(checkCel(notString, ruleInput())).toMatchObject({ violation: { message: 'The CEL rule is false: false' } });
  });

  it('reads every variable', () => {
    const expression = [
      'pod.name == "web-1" && pod.namespace == "shop" && pod.labels.app == "web" && pod.controller.kind == "ReplicaSet"',
      'eviction.apiVersion == "policy/v1" && eviction.gracePeriodSeconds == 30',
      'request.userInfo.username == "kubernetes-admin" && "system:authenticated" in request.userInfo.groups && !request.dryRun',
      'namespaceObject.name == "shop" && namespaceObject.labels["kubernetes.io/metadata.name"] == "shop"',
      'pdbs.size() == 1 && pdbs[0].name == "web-pdb" && pdbs[0].minAvailable == 2 && pdbs[0].status.disruptionsAllowed == 1',
      'owner.kind == "ReplicaSet" && owner.replicas == 1 && owner.readyReplicas == 1',
      'node.name == "node-a" && now.getFullYear() == 2024',
    ].join(' && ');
    const input = ruleInput({ pdbs: [pdbFacts('web-pdb')], attempt: { gracePeriodSeconds: 30 } });
    expect(checkCel(celRule(`{ expression: ${JSON.stringify(expression)} }`), input)).toBeUndefined();
  });

  it('reports a runtime error with its position instead of deciding', () => {
    expect(checkCel(celRule('{ expression: "pod.labels.tier == \\"db\\"" }'), ruleInput())).toEqual({
      error: 'CEL evaluation failed: line 1, column 11: field not found: tier',
    });
  });

  it('reports a result that is not a bool as an error', () => {
    expect(checkCel(celRule('{ expression: "owner.replicas" }'), ruleInput())).toEqual({ error: 'CEL expression returned int, expected a bool' });
  });
});
