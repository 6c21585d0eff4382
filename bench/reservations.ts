// `npm run bench`, reservations (issue 10): what a reserved allow costs next to an unreserved allow
// on the counted-policy path, measured in the same process and run. The decisions run in this
// process (evaluateEviction, as the webhook calls it) over a snapshot of 50 Deployments of 20 pods,
// under one Deny policy `maxDisruptions: {per: owner, count: "100%"}`; the reservation Leases live
// in a fake API server in its own process, reached over HTTPS on 127.0.0.1 as a real one would be.
//   - counted, no reservations: the policy path as it was before reservations (the baseline);
//   - counted, dry run: the same plus reading the scope's record, which the previous write left in
//     memory, and never writing (a dry run only counts);
//   - reserved: the same plus the one conditional write (PUT) that records the eviction.
// Each pod is evicted once per variant; the Leases exist beforehand (pod 0 of each owner), so the
// writes are updates, as they are once a workload has been drained before.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { resolveKubeConfig } from '../src/cluster/kubeconfig';
import { SnapshotClusterView } from '../src/cluster/snapshot';
import type { EvictionAttempt } from '../src/domain';
import { evaluateEviction, type PolicyCheck } from '../src/evaluate';
import { evaluatePolicies } from '../src/policy/engine';
import { parsePolicy } from '../src/policy/schema';
import { LeaseReservationStore } from '../src/reservation/lease-store';
import { Reserver } from '../src/reservation/reserver';
import { podObject, workloadObject } from '../test/helpers/objects';

const OWNERS = 50;
const PODS_PER_OWNER = 20;
const NAMESPACE = 'bench';
const silent = { debug() {}, info() {}, warn() {}, error() {} };

export interface ReservationBenchResult {
  evictions: number;
  countedMs: number;
  dryRunMs: number;
  reservedMs: number;
  reservedVsCounted: number;
  reservedVsDryRun: number;
}

const podName = (owner: number, index: number) => `app-${owner}-${index}`;

function writeSnapshot(file: string): void {
  const items = [];
  for (let owner = 0; owner < OWNERS; owner++) {
    items.push(workloadObject('Deployment', NAMESPACE, `app-${owner}`, PODS_PER_OWNER));
    items.push(workloadObject('ReplicaSet', NAMESPACE, `app-${owner}-rs`, PODS_PER_OWNER, { kind: 'Deployment', name: `app-${owner}` }));
    for (let index = 0; index < PODS_PER_OWNER; index++) {
      items.push(podObject(NAMESPACE, podName(owner, index), { labels: { app: `app-${owner}` }, owner: { kind: 'ReplicaSet', name: `app-${owner}-rs` }, nodeName: `node-${index}` }));
    }
  }
  writeFileSync(file, JSON.stringify({ apiVersion: 'v1', kind: 'List', items }));
}

/** The fake API server in its own process, empty: it only holds the Leases. */
async function startFakeApiServer(dir: string): Promise<{ kubeconfig: string; stop: () => void }> {
  const child = spawn(process.execPath, [path.join(__dirname, 'fake-cluster.js'), dir, 'empty'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`the fake API server exited with code ${code}`)));
  });
  return { kubeconfig: (JSON.parse(line) as { kubeconfig: string }).kubeconfig, stop: () => child.kill('SIGTERM') };
}

export async function benchReservations(): Promise<{ result: ReservationBenchResult; lines: string[] }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'eviction-guard-bench-reservations-'));
  const fake = await startFakeApiServer(dir);
  let store: LeaseReservationStore | undefined;
  try {
    const snapshot = path.join(dir, 'cluster.json');
    writeSnapshot(snapshot);
    const view = SnapshotClusterView.fromFile(snapshot);
    const parsed = parsePolicy(
      { apiVersion: 'evictionguard.io/v1alpha1', kind: 'EvictionPolicy', metadata: { name: 'whole-owner' }, spec: { rules: [{ maxDisruptions: { per: 'owner', count: '100%' } }] } },
      'bench',
    );
    if ('error' in parsed) throw new Error(parsed.error.message);
    const policies: PolicyCheck = (attempt, facts, inputs) => evaluatePolicies([parsed.policy], attempt, facts, { now: new Date(), mode: 'enforce', ...inputs });
    const kubeConfig = resolveKubeConfig(fake.kubeconfig)!;
    store = new LeaseReservationStore({ kubeConfig, namespace: 'eviction-guard', holder: 'bench', ttlMs: 600_000, logger: silent });
    const reserver = new Reserver({ store, ttlMs: 600_000, instance: 'bench' });

    const attempt = (owner: number, index: number, dryRun = false): EvictionAttempt => ({
      uid: `bench-${owner}-${index}`,
      namespace: NAMESPACE,
      podName: podName(owner, index),
      evictionVersion: 'policy/v1',
      requester: { username: 'bench', groups: ['system:authenticated'] },
      dryRun,
    });
    /** Evicts pods 1.. of every owner in turn; each result must be `expected`; answers ms per eviction. */
    const run = async (evict: (owner: number, index: number) => ReturnType<typeof evaluateEviction>, expected: string | undefined): Promise<number> => {
      const started = performance.now();
      for (let index = 1; index < PODS_PER_OWNER; index++) {
        for (let owner = 0; owner < OWNERS; owner++) {
          const { verdict, context } = await evict(owner, index);
          if (!verdict.allowed || context.reservation?.result !== expected) {
            throw new Error(`bench eviction of ${podName(owner, index)}: allowed ${verdict.allowed}, reservation ${JSON.stringify(context.reservation)}, expected ${expected}`);
          }
        }
      }
      return (performance.now() - started) / (OWNERS * (PODS_PER_OWNER - 1));
    };

    // Creates one Lease per owner, and warms up every path.
    for (let owner = 0; owner < OWNERS; owner++) await evaluateEviction(attempt(owner, 0), view, policies, { reserver });
    await run((owner, index) => evaluateEviction(attempt(owner, index), view, policies), undefined);
    const countedMs = await run((owner, index) => evaluateEviction(attempt(owner, index), view, policies), undefined);
    const dryRunMs = await run((owner, index) => evaluateEviction(attempt(owner, index, true), view, policies, { reserver }), 'dry-run');
    const reservedMs = await run((owner, index) => evaluateEviction(attempt(owner, index), view, policies, { reserver }), 'reserved');

    const result: ReservationBenchResult = {
      evictions: OWNERS * (PODS_PER_OWNER - 1),
      countedMs,
      dryRunMs,
      reservedMs,
      reservedVsCounted: reservedMs / countedMs,
      reservedVsDryRun: reservedMs / dryRunMs,
    };
    const us = (ms: number) => `${(ms * 1000).toFixed(0)} us`;
    const lines = [
      `reservations: ${result.evictions} evictions per variant, one at a time, maxDisruptions per owner (${OWNERS} owners of ${PODS_PER_OWNER} pods), Leases in a fake API server over HTTPS`,
      `counted, no reservations (baseline)  ${us(countedMs)} per eviction`,
      `counted, dry run (reads, no write)   ${us(dryRunMs)} = ${(dryRunMs / countedMs).toFixed(2)}x the baseline`,
      `reserved allow (one PUT)             ${us(reservedMs)} = ${result.reservedVsCounted.toFixed(1)}x the baseline, ${result.reservedVsDryRun.toFixed(1)}x the dry run`,
    ];
    return { result, lines };
  } finally {
    store?.close();
    fake.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
