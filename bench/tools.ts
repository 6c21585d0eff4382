// `npm run bench`, second part: the operator tools on the same synthetic cluster as the webhook
// bench (100k pods, 10k PDBs, 1000 nodes), from a snapshot file. Each figure is given next to a
// baseline measured in the same process: loading the snapshot for lint and check, and one eviction
// decision (evaluateEviction) for one PDB guard review.
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { lintReport } from '../src/cli/lint';
import { SnapshotClusterView } from '../src/cluster/snapshot';
import { checkDrain } from '../src/drain/preflight';
import { evaluateEviction } from '../src/evaluate';
import { candidateOf, guardPdbChange } from '../src/guard/pdb-guard';
import { decodeAdmissionReview } from '../src/admission/decode';
import { benchDrainPlan } from './drain-plan';
import { benchPolicyEngine } from './engine';
import { BENCH_CLUSTER, appName, namespaceName, podName, syntheticCluster } from './synthetic-cluster';

const ALL_FLAGS = { ignoreDaemonSets: true, deleteEmptyDirData: true, force: true };
const REQUESTER = { username: 'bench', groups: ['system:authenticated'] };

function writeSnapshot(file: string): number {
  const fd = openSync(file, 'w');
  writeSync(fd, '{"apiVersion":"v1","kind":"List","items":[');
  let count = 0;
  for (const object of syntheticCluster(BENCH_CLUSTER)) writeSync(fd, `${count++ === 0 ? '' : ','}${JSON.stringify(object)}`);
  writeSync(fd, ']}');
  closeSync(fd);
  return count;
}

async function timed<T>(run: () => T | Promise<T>): Promise<{ ms: number; value: T }> {
  const started = performance.now();
  const value = await run();
  return { ms: performance.now() - started, value };
}

async function perCall(calls: number, run: () => unknown): Promise<number> {
  const { ms } = await timed(async () => {
    for (let i = 0; i < calls; i++) await run();
  });
  return ms / calls;
}

const fixed = (value: number, digits = 1) => value.toFixed(digits);

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'eviction-guard-bench-tools-'));
  try {
    const file = path.join(dir, 'cluster.json');
    const objects = writeSnapshot(file);
    const load = await timed(() => SnapshotClusterView.fromFile(file));
    const view = load.value;
    const lint = await timed(() => lintReport(view.inventory(), 'bench'));

    const nodes = 20;
    const nodeCheck = await timed(async () => {
      let pods = 0;
      for (let n = 0; n < nodes; n++) pods += (await checkDrain(view, { nodes: [`node-${n}`] }, { flags: ALL_FLAGS, requester: REQUESTER })).pods.length;
      return pods;
    });
    const namespaceCheck = await timed(() => checkDrain(view, { namespace: namespaceName(0) }, { flags: ALL_FLAGS, requester: REQUESTER }));

    const attempt = { uid: 'bench', namespace: namespaceName(0), podName: podName(0, 0), evictionVersion: 'policy/v1' as const, requester: REQUESTER, dryRun: false };
    const evictionMs = await perCall(2000, () => evaluateEviction(attempt, view));
    const review = decodeAdmissionReview({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      request: {
        uid: 'bench',
        resource: { group: 'policy', version: 'v1', resource: 'poddisruptionbudgets' },
        name: 'overlapping-pdb',
        namespace: namespaceName(0),
        operation: 'CREATE',
        object: { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name: 'overlapping-pdb' }, spec: { minAvailable: 1, selector: { matchLabels: { app: appName(0) } } } },
      },
    });
    if (review.outcome !== 'pdb-change') throw new Error(`bench review decoded as ${review.outcome}`);
    let warnings = 0;
    const guardMs = await perCall(2000, () => {
      warnings = guardPdbChange(candidateOf(review), view.inventory(), 'warn').warnings.length;
    });

    const rows = [
      `operator tools on ${objects} objects (${BENCH_CLUSTER.namespaces * BENCH_CLUSTER.podsPerNamespace} pods, ${BENCH_CLUSTER.namespaces * BENCH_CLUSTER.pdbsPerNamespace} PDBs), from a JSON snapshot`,
      `load snapshot (baseline)      ${fixed(load.ms)} ms`,
      `lint, whole cluster           ${fixed(lint.ms)} ms = ${fixed(lint.ms / load.ms, 2)}x the load   (${lint.value.findings.length} findings: ${lint.value.counts.error} errors)`,
      `check --node, per node        ${fixed(nodeCheck.ms / nodes)} ms = ${fixed(nodeCheck.ms / nodes / load.ms, 3)}x the load   (${nodeCheck.value / nodes} pods per node)`,
      `check --namespace             ${fixed(namespaceCheck.ms)} ms   (${namespaceCheck.value.pods.length} pods)`,
      `PDB guard review              ${fixed(guardMs * 1000, 0)} us = ${fixed(guardMs / evictionMs, 2)}x one eviction decision (${fixed(evictionMs * 1000, 0)} us)   (${warnings} warning)`,
    ];
    rows.push('', 'drain plan, a node of 100 pods', ...(await benchDrainPlan(dir)));
    rows.push('', 'policy engine in process, 200 evictions (100 pods per namespace and per node)', ...(await benchPolicyEngine(dir)));
    process.stdout.write(`\n${rows.join('\n')}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench tools failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exitCode = 1;
});
