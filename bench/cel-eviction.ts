// What the bench's 20 CEL policies cost one eviction in the policy engine alone, without HTTP or
// the index: evaluatePolicies() on one realistic pod, in µs per eviction. A micro-benchmark for
// changes to the CEL variables (src/policy/variables.ts), run in-process:
//   npx tsc -p tsconfig.bench.json && node .bench/bench/cel-eviction.js
// CEL_BENCH_ROUNDS (default 5) rounds of CEL_BENCH_EVICTIONS (default 20000) evictions; the best
// round's CPU time is printed, as the others carry the noise of a shared machine.
import type { EvictionAttempt, EvictionContext, EvictionFacts, PodFacts } from '../src/domain';
import { evaluatePolicies } from '../src/policy/engine';
import { parsePolicy, type EvictionPolicy } from '../src/policy/schema';
import { CEL_EXPRESSIONS } from './policies';

const ROUNDS = Number(process.env.CEL_BENCH_ROUNDS ?? 5);
const EVICTIONS = Number(process.env.CEL_BENCH_EVICTIONS ?? 20_000);

function celPolicies(): EvictionPolicy[] {
  return CEL_EXPRESSIONS.map((expression, index) => {
    const raw = { apiVersion: 'evictionguard.io/v1alpha1', kind: 'EvictionPolicy', metadata: { name: `cel-${index}` }, spec: { rules: [{ cel: { expression } }] } };
    const parsed = parsePolicy(raw, 'bench');
    if ('error' in parsed) throw new Error(parsed.error.message);
    return parsed.policy;
  });
}

/** A pod as the index keeps it, with the annotations and conditions of a typical Deployment pod. */
const pod = {
  namespace: 'team-7',
  name: 'api-7d9c5b7f6-x2x9k',
  uid: '6f1c2a7e-0d2b-4c55-9a57-1c8e8f3e2b10',
  labels: { app: 'api', 'pod-template-hash': '7d9c5b7f6', tier: 'backend' },
  phase: 'Running',
  ready: true,
  deleting: false,
  nodeName: 'node-12',
  owner: { kind: 'ReplicaSet', name: 'api-7d9c5b7f6' },
  hasEmptyDir: true,
  annotations: {
    'kubectl.kubernetes.io/restartedAt': '2026-11-30T08:00:00Z',
    'prometheus.io/scrape': 'true',
    'prometheus.io/port': '9090',
    'cluster-autoscaler.kubernetes.io/safe-to-evict': 'true',
  },
  creationTimestamp: '2026-11-30T08:00:05Z',
  ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'api-7d9c5b7f6', uid: 'rs-uid', controller: true }],
  priorityClassName: 'standard',
  priority: 1000,
  serviceAccountName: 'api',
  volumes: [
    { name: 'cache', source: 'emptyDir' },
    { name: 'config', source: 'configMap' },
    { name: 'kube-api-access-abcde', source: 'projected' },
  ],
  conditions: [
    { type: 'PodReadyToStartContainers', status: 'True', lastTransitionTime: '2026-11-30T08:00:07Z' },
    { type: 'Initialized', status: 'True', lastTransitionTime: '2026-11-30T08:00:06Z' },
    { type: 'Ready', status: 'True', lastTransitionTime: '2026-11-30T08:00:12Z' },
    { type: 'ContainersReady', status: 'True', lastTransitionTime: '2026-11-30T08:00:12Z' },
    { type: 'PodScheduled', status: 'True', lastTransitionTime: '2026-11-30T08:00:05Z' },
  ],
  startTime: '2026-11-30T08:00:05Z',
} as PodFacts;

const node = {
  name: 'node-12',
  uid: 'node-uid',
  labels: { 'kubernetes.io/hostname': 'node-12', 'topology.kubernetes.io/zone': 'eu-west-1a', 'node.kubernetes.io/instance-type': 'm5.xlarge' },
  annotations: { 'node.alpha.kubernetes.io/ttl': '0' },
  unschedulable: false,
  taints: [],
  conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: '2026-11-01T00:00:00Z' }],
};

const context = {
  namespace: { name: 'team-7', uid: 'ns-uid', labels: { 'kubernetes.io/metadata.name': 'team-7' }, annotations: {} },
  owner: { kind: 'Deployment', name: 'api', replicas: 3, readyReplicas: 3, replicasFrom: 'spec' },
  peers: () => [pod],
  isRecordedDisruption: () => false,
  node,
} as EvictionContext;

const pdb = {
  namespace: 'team-7',
  name: 'api',
  uid: 'pdb-uid',
  generation: 1,
  selector: { matchLabels: { app: 'api' } },
  minAvailable: 2,
  status: { observedGeneration: 1, disruptionsAllowed: 1, currentHealthy: 3, desiredHealthy: 2, expectedPods: 3, disruptedPods: {}, conditions: [] },
};

const attempt: EvictionAttempt = {
  uid: 'review-uid',
  namespace: pod.namespace,
  podName: pod.name,
  evictionVersion: 'policy/v1',
  requester: { username: 'system:serviceaccount:kube-system:cluster-autoscaler', groups: ['system:serviceaccounts', 'system:authenticated'] },
  dryRun: false,
};

const facts: EvictionFacts = { pod, pdbs: [pdb], podsInNamespace: () => [pod], source: 'cache', context };

function main(): void {
  const policies = celPolicies();
  const now = new Date('2026-12-01T10:00:00Z');
  const check = evaluatePolicies(policies, attempt, facts, { now, mode: 'enforce' });
  const failing = check.findings.map((finding) => `${finding.check}: ${finding.message}`);
  if (failing.length > 0) throw new Error(`every bench expression should pass:\n${failing.join('\n')}`);
  // CPU time rather than wall time: on a shared machine, time spent waiting for a core is not ours.
  const rounds: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const start = process.cpuUsage();
    for (let index = 0; index < EVICTIONS; index++) evaluatePolicies(policies, attempt, facts, { now, mode: 'enforce' });
    const { user, system } = process.cpuUsage(start);
    rounds.push((user + system) / EVICTIONS);
  }
  const best = Math.min(...rounds);
  console.log(`${policies.length} CEL policies: ${best.toFixed(1)} µs CPU/eviction (best of ${ROUNDS} rounds of ${EVICTIONS}; all rounds ${rounds.map((us) => us.toFixed(1)).join(', ')})`);
}

main();
