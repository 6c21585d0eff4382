// The policies in examples/policies/ load and do what their comments say.
import path from 'node:path';
import { evictionContext } from '../../src/cluster/context';
import type { EvictionFacts, NamespaceFacts, PdbFacts, PodFacts, Requester } from '../../src/domain';
import { policyFindings } from '../../src/policy/engine';
import { loadPolicyFiles } from '../../src/policy/load';
import { parsePolicy, type EvictionPolicy } from '../../src/policy/schema';
import { attemptFor, pdbFacts, podFacts } from '../helpers/facts';

const loaded = loadPolicyFiles([path.join(__dirname, '../../examples/policies')]);
const policies = new Map<string, EvictionPolicy>();
for (const document of loaded.documents) {
  const result = parsePolicy(document.raw, document.origin);
  if ('error' in result) throw new Error(result.error.message);
  policies.set(result.policy.name, result.policy);
}

interface Scenario {
  pod: PodFacts;
  others?: PodFacts[];
  pdbs?: PdbFacts[];
  namespace?: NamespaceFacts;
  requester?: Requester;
  now?: string;
}

/** The checks and actions of one policy for one eviction, with the namespace known. */
function outcome(policyName: string, scenario: Scenario): string[] {
  const { pod, others = [], pdbs = [], namespace, requester } = scenario;
  const pods = [pod, ...others];
  const context = evictionContext(
    pod,
    {
      workload: () => undefined,
      namespace: (name) => (namespace?.name === name ? namespace : undefined),
      node: () => undefined,
      podsInNamespace: (name) => pods.filter((p) => p.namespace === name),
      podsOnNode: (node) => pods.filter((pod) => pod.nodeName === node),
      isRecordedDisruption: (other) => pdbs.some((pdb) => pdb.namespace === other.namespace && Object.hasOwn(pdb.status.disruptedPods, other.name)),
    },
    pdbs,
  );
  const facts: EvictionFacts = { pod, pdbs, podsInNamespace: () => pods, source: 'snapshot', context };
  const attempt = attemptFor(pod.name, { namespace: pod.namespace, ...(requester ? { requester } : {}) });
  const now = new Date(scenario.now ?? '2024-06-05T08:00:00Z'); // Wednesday 10:00 in Berlin
  return policyFindings([policies.get(policyName)!], attempt, facts, { now, mode: 'enforce' }).map((f) => `${f.check}:${f.action}:${f.code ?? ''}`);
}

const user = (username: string, groups: string[] = []): Requester => ({ username, groups: [...groups, 'system:authenticated'] });
const autoscaler = user('system:serviceaccount:kube-system:cluster-autoscaler', ['system:serviceaccounts']);
const prod = (name: string): NamespaceFacts => ({ name, labels: { env: 'prod' }, annotations: {} });

describe('examples/policies', () => {
  it('load without errors, one per rule kind, an exemption and the do-not-disrupt annotations', () => {
    expect(loaded.errors).toEqual([]);
    expect([...policies.keys()].sort()).toEqual([
      'batch-autoscaler-only',
      'dba-may-evict-protected',
      'honor-do-not-disrupt',
      'no-single-replica-evictions',
      'one-pod-per-workload',
      'prod-business-hours',
      'prod-needs-pdb',
      'protect-db-primary',
    ]);
  });

  it('protect.yaml denies the postgres primary for good and leaves replicas alone', () => {
    const primary = podFacts('pg-0', { labels: { app: 'postgres', role: 'primary' } });
    expect(outcome('protect-db-primary', { pod: primary })).toEqual(['policy/protect-db-primary/protect:deny:403']);
    expect(outcome('protect-db-primary', { pod: { ...primary, labels: { app: 'postgres', role: 'replica' } } })).toEqual([]);
  });

  it('window.yaml blocks prod evictions in Berlin business hours, retryably', () => {
    const pod = podFacts('web-1', { namespace: 'shop' });
    expect(outcome('prod-business-hours', { pod, namespace: prod('shop') })).toEqual(['policy/prod-business-hours/window:deny:429']);
    expect(outcome('prod-business-hours', { pod, namespace: prod('shop'), now: '2024-06-05T16:00:00Z' })).toEqual([]);
    expect(outcome('prod-business-hours', { pod, namespace: { ...prod('shop'), labels: { env: 'dev' } } })).toEqual([]);
  });

  it('max-disruptions.yaml allows one pod per workload in disruption', () => {
    const owner = { kind: 'StatefulSet', name: 'kafka' };
    const pod = podFacts('kafka-0', { namespace: 'prod-eu', owner });
    expect(outcome('one-pod-per-workload', { pod, others: [podFacts('kafka-1', { namespace: 'prod-eu', owner })] })).toEqual([]);
    const terminating = podFacts('kafka-1', { namespace: 'prod-eu', owner, deleting: true });
    expect(outcome('one-pod-per-workload', { pod, others: [terminating] })).toEqual(['policy/one-pod-per-workload/maxDisruptions:deny:429']);
  });

  it('min-replicas.yaml warns about single-replica workloads', () => {
    expect(outcome('no-single-replica-evictions', { pod: podFacts('lonely', { owner: undefined }) })).toEqual(['policy/no-single-replica-evictions/minReplicas:warn:']);
  });

  it('require-pdb.yaml denies prod pods without a PDB, except to the cluster-autoscaler', () => {
    const pod = podFacts('web-1', { namespace: 'shop' });
    expect(outcome('prod-needs-pdb', { pod, namespace: prod('shop') })).toEqual(['policy/prod-needs-pdb/requirePDB:deny:403']);
    expect(outcome('prod-needs-pdb', { pod, namespace: prod('shop'), pdbs: [pdbFacts('web-pdb')] })).toEqual([]);
    expect(outcome('prod-needs-pdb', { pod, namespace: prod('shop'), requester: autoscaler })).toEqual([]);
  });

  it('cel.yaml lets only the cluster-autoscaler evict small batch workloads', () => {
    const owner = { kind: 'StatefulSet', name: 'worker' };
    const pods = ['worker-0', 'worker-1'].map((name) => podFacts(name, { namespace: 'batch', owner }));
    expect(outcome('batch-autoscaler-only', { pod: pods[0], others: [pods[1]], requester: user('alice') })).toEqual(['policy/batch-autoscaler-only/cel:deny:403']);
    expect(outcome('batch-autoscaler-only', { pod: pods[0], others: [pods[1]], requester: autoscaler })).toEqual([]);
    const more = ['worker-2', 'worker-3'].map((name) => podFacts(name, { namespace: 'batch', owner }));
    expect(outcome('batch-autoscaler-only', { pod: pods[0], others: [pods[1], ...more], requester: user('alice') })).toEqual([]);
  });

  it('annotation-exemption.yaml lets the DBA team evict protected database pods', () => {
    const pod = podFacts('pg-0', { namespace: 'db-orders', annotations: { 'evictionguard.io/protect': 'true' } });
    expect(outcome('dba-may-evict-protected', { pod, requester: user('alice') })).toEqual(['policy/annotation-protect:deny:403']);
    expect(outcome('dba-may-evict-protected', { pod, requester: user('bob', ['dba-team']) })).toEqual([]);
  });
});
