// `npm run bench`, policy engine section: what the bench's 100 policies cost per eviction inside the
// process, without HTTP, TLS or express around them, and which kinds of rule that cost comes from.
// The same evictions are judged with no policy (the baseline: the PDB mirror alone), with all 100,
// and with each kind's policies alone, in one run, on a cluster of the bench's shape per namespace
// and per node (100 pods in each), so that the rules count as many peers as under load.
import { copyFileSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { SnapshotClusterView } from '../src/cluster/snapshot';
import type { EvictionAttempt, EvictionFacts } from '../src/domain';
import { judgeEviction, type PolicyCheck } from '../src/evaluate';
import { startPolicyService, type PolicyService } from '../src/policy/service';
import { writeBenchPolicies } from './policies';
import { syntheticCluster } from './synthetic-cluster';

const SHAPE = { namespaces: 100, podsPerNamespace: 100, pdbsPerNamespace: 10, exhaustedEvery: 10, nodes: 100 };
const REQUESTER = { username: 'bench', groups: ['system:authenticated'] };
const ROUNDS = 15;
/** The kinds of rule in bench/policies.ts, by the policies' numbers. */
const KINDS = [
  { name: 'cel (20)', from: 0, to: 20 },
  { name: 'window (20)', from: 20, to: 40 },
  { name: 'maxDisruptions (30)', from: 40, to: 70 },
  { name: 'minReplicas (15)', from: 70, to: 85 },
  { name: 'requirePDB (10)', from: 85, to: 95 },
  { name: 'protect, selecting none (5)', from: 95, to: 100 },
];

const silent = { debug() {}, info() {}, warn() {}, error() {} };

interface Judged {
  attempt: EvictionAttempt;
  facts: EvictionFacts;
}

/** µs per eviction, the best of ROUNDS passes over every eviction (the least disturbed by the machine's other work). */
function microsPerEviction(evictions: readonly Judged[], check: PolicyCheck | undefined): number {
  let best = Infinity;
  for (let round = 0; round < ROUNDS; round++) {
    const started = performance.now();
    for (const { attempt, facts } of evictions) judgeEviction(attempt, facts, check);
    best = Math.min(best, ((performance.now() - started) * 1000) / evictions.length);
  }
  return best;
}

function policyDir(dir: string, name: string, files: readonly string[], from: number, to: number): string {
  const subset = path.join(dir, name);
  mkdirSync(subset, { recursive: true });
  for (const file of files.slice(from, to)) copyFileSync(path.join(dir, 'all', file), path.join(subset, file));
  return subset;
}

/** The rows of the policy engine section, with files written under `dir`. */
export async function benchPolicyEngine(dir: string): Promise<string[]> {
  const clusterFile = path.join(dir, 'engine-cluster.json');
  writeFileSync(clusterFile, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [...syntheticCluster(SHAPE)] }));
  const view = SnapshotClusterView.fromFile(clusterFile);
  const pods = view.inventory().podsInNamespace('team-1').concat(view.inventory().podsInNamespace('team-2'));
  const evictions: Judged[] = [];
  for (const [index, pod] of pods.entries()) {
    const attempt: EvictionAttempt = { uid: `e${index}`, namespace: pod.namespace, podName: pod.name, evictionVersion: 'policy/v1', requester: REQUESTER, dryRun: false };
    evictions.push({ attempt, facts: await view.facts(pod.namespace, pod.name) });
  }

  mkdirSync(path.join(dir, 'all'), { recursive: true });
  writeBenchPolicies(path.join(dir, 'all'));
  const files = readdirSync(path.join(dir, 'all')).sort();
  const services: PolicyService[] = [];
  const checkOf = (policyPath: string): PolicyCheck => {
    const service = startPolicyService({ paths: [policyPath], mode: 'enforce', logger: silent });
    services.push(service);
    return (attempt, facts, inputs) => service.evaluate(attempt, facts, inputs);
  };

  const all = checkOf(path.join(dir, 'all'));
  // Warm every path up before measuring: the JIT, the policies' caches.
  microsPerEviction(evictions, all);
  const baseline = microsPerEviction(evictions, undefined);
  const withAll = microsPerEviction(evictions, all);
  const rows = [
    `no policies (the PDB mirror alone)   ${baseline.toFixed(1)} us per eviction (baseline)`,
    `100 policies                         ${withAll.toFixed(1)} us per eviction = ${(withAll / baseline).toFixed(1)}x the baseline, ${(withAll - baseline).toFixed(1)} us for the policies`,
  ];
  for (const kind of KINDS) {
    const check = checkOf(policyDir(dir, `kind-${kind.from}`, files, kind.from, kind.to));
    microsPerEviction(evictions, check);
    const micros = microsPerEviction(evictions, check) - baseline;
    rows.push(`  of which ${kind.name.padEnd(27)} ${micros.toFixed(1)} us (${((micros / (withAll - baseline)) * 100).toFixed(0)} %)`);
  }
  await Promise.all(services.map((service) => service.close()));
  return rows;
}
