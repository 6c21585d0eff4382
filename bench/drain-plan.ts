// `npm run bench`: what planning a drain costs (`check --node`), against the baseline of judging
// every pod once, on its own, as check did before it planned: one evaluateEviction() per pod, in the
// same run. Two nodes of 100 pods each: one where every pod has its own PDB (one wave, the common
// case) and the worst case, one Deployment's 100 pods under one PDB allowing 1 (100 waves, each
// waiting pod also working out which replacements it waits for).
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { SnapshotClusterView } from '../src/cluster/snapshot';
import { checkDrain } from '../src/drain/preflight';
import { evaluateEviction } from '../src/evaluate';
import type { KubeObject } from '../test/fake-apiserver';

const PODS_PER_NODE = 100;
const REQUESTER = { username: 'bench', groups: ['system:authenticated'] };
const FLAGS = { ignoreDaemonSets: true, deleteEmptyDirData: true, force: true };

function pod(name: string, app: string, node: string): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'bench', labels: { app }, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: `${app}-rs`, uid: `${app}-rs`, controller: true }] },
    spec: { nodeName: node, containers: [{ name: 'main', image: 'registry.example.com/app:1' }] },
    status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] },
  };
}

function pdb(app: string, pods: number, allowed: number): KubeObject {
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: { name: `${app}-pdb`, namespace: 'bench', generation: 1 },
    spec: { maxUnavailable: allowed, selector: { matchLabels: { app } } },
    status: { observedGeneration: 1, disruptionsAllowed: allowed, currentHealthy: pods, desiredHealthy: pods - allowed, expectedPods: pods },
  };
}

function cluster(): KubeObject[] {
  const objects: KubeObject[] = [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'bench' } }];
  // node-spread: 100 workloads of 2 replicas, one on this node, each under its own PDB allowing 1.
  for (let app = 0; app < PODS_PER_NODE; app++) {
    objects.push(pod(`spread-${app}-a`, `spread-${app}`, 'node-spread'), pod(`spread-${app}-b`, `spread-${app}`, 'elsewhere'), pdb(`spread-${app}`, 2, 1));
  }
  // node-packed: one workload's 100 pods, under one PDB allowing 1.
  for (let i = 0; i < PODS_PER_NODE; i++) objects.push(pod(`packed-${String(i).padStart(3, '0')}`, 'packed', 'node-packed'));
  objects.push(pdb('packed', PODS_PER_NODE, 1));
  return objects;
}

async function timed(run: () => Promise<unknown>, repeat: number): Promise<number> {
  const started = performance.now();
  for (let i = 0; i < repeat; i++) await run();
  return (performance.now() - started) / repeat;
}

/** The rows of the drain-plan section, on a snapshot written to `dir`. */
export async function benchDrainPlan(dir: string): Promise<string[]> {
  const file = path.join(dir, 'drain-plan.json');
  writeFileSync(file, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: cluster() }));
  const view = SnapshotClusterView.fromFile(file);
  const rows: string[] = [];
  for (const node of ['node-spread', 'node-packed']) {
    const pods = view.inventory().podsOnNode(node);
    const judgeEach = () =>
      Promise.all(pods.map((each, index) => evaluateEviction({ uid: `b${index}`, namespace: 'bench', podName: each.name, evictionVersion: 'policy/v1', requester: REQUESTER, dryRun: false }, view)));
    const baselineMs = await timed(judgeEach, 5);
    const report = await checkDrain(view, { nodes: [node] }, { flags: FLAGS, requester: REQUESTER });
    const planMs = await timed(() => checkDrain(view, { nodes: [node] }, { flags: FLAGS, requester: REQUESTER }), 5);
    const waves = Math.max(...report.pods.map((each) => each.wave ?? 0));
    rows.push(
      `check --node ${node.padEnd(12)} ${planMs.toFixed(1)} ms = ${(planMs / baselineMs).toFixed(1)}x judging its ${pods.length} pods once (${baselineMs.toFixed(1)} ms)   ` +
        `(${report.counts.evict} evict now, ${report.counts.wait} wait, ${waves} waves)`,
    );
  }
  return rows;
}
