import { checkMinReplicas } from '../../../src/policy/rules/min-replicas';
import { podFacts } from '../../helpers/facts';
import { ruleInput } from '../../helpers/policies';

const owner = (replicas: number, kind = 'Deployment') => ({ kind, name: 'web', replicas, readyReplicas: replicas, replicasFrom: 'spec' as const });

describe('minReplicas rule', () => {
  it('passes when the owner has at least that many replicas', () => {
    expect(checkMinReplicas(2, ruleInput({ context: { owner: owner(2) } }))).toBeUndefined();
    expect(checkMinReplicas(2, ruleInput({ context: { owner: owner(5) } }))).toBeUndefined();
  });

  it('denies for good below it, naming the workload and how to fix it', () => {
    expect(checkMinReplicas(2, ruleInput({ context: { owner: owner(1) } }))).toEqual({
      message: 'Deployment shop/web has 1 replica; this policy allows evictions only from workloads with at least 2.',
      summary: 'Deployment shop/web has 1 replica, needs 2',
      hint: 'scale Deployment shop/web to at least 2 replicas',
      retryable: false,
    });
    expect(checkMinReplicas(3, ruleInput({ context: { owner: owner(0, 'StatefulSet') } }))?.message).toContain('StatefulSet shop/web has 0 replicas');
  });

  it('counts a pod without a controller as one replica', () => {
    const violation = checkMinReplicas(2, ruleInput({ pod: podFacts('lonely', { owner: undefined }) }));
    expect(violation?.message).toContain('Pod shop/lonely has 1 replica');
    expect(violation?.hint).toBe('run the pod under a controller with at least 2 replicas');
  });
});
