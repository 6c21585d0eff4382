// `npm run bench:profile`: where the webhook spends its CPU and holds its memory, on the bench's
// 100k-pod synthetic cluster. The webhook runs with the Deployment's node flags plus the profile
// hooks (profile-hooks.ts); it is profiled during the load window only, and its heap is measured
// after sync and after the load, and snapshotted. Prints a summary and writes it, the .cpuprofile
// and the .heapsnapshot (open it in Chrome DevTools) into the output folder.
// Environment: PROFILE_DURATION (seconds of load, default 60), PROFILE_STREAM (allowed|mixed),
// PROFILE_POLICIES=1 (load the bench's 100 policies), PROFILE_TARGET=floor or floor-index (profile
// the express floor, or the floor holding the webhook's index of the cluster, instead),
// PROFILE_HEAP (load: snapshot after the load, the default; sync: snapshot after sync and no load;
// none), PROFILE_ALLOCATIONS=promoted (sample only the allocations that outlive the young
// generation), PROFILE_OUT (folder, default bench/results/profile),
// BENCH_CONNECTIONS, BENCH_WEBHOOK_ARGS, BENCH_NODE_ARGS (extra node flags, e.g. --trace-gc).
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { makeTestCertificate } from '../test/helpers/tls';
import { formatAllocations, formatShares, framesOf, inclusiveTimes, isOwnFrame, summarizeAllocations, summarizeProfile, unbundleFrames, type AllocationProfile, type CpuProfile } from './profile-summary';
import { runLoad, type Stream } from './load';
import { writeBenchPolicies } from './policies';
import type { GcTotals, MemoryFigures, ProfileOrder } from './profile-hooks';
import { cpuTimeMs, deploymentEnvironment, firstLine, memoryMb, ROOT, rssParts, start, startFakeCluster, startWebhook, stopChildren, WEBHOOK_BUNDLE, words } from './processes';

const DURATION_S = Number(process.env.PROFILE_DURATION ?? 60);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const STREAM: Stream = process.env.PROFILE_STREAM === 'mixed' ? 'mixed' : 'allowed';
const WITH_POLICIES = process.env.PROFILE_POLICIES === '1';
const OUT = path.resolve(process.env.PROFILE_OUT ?? path.join(ROOT, 'bench/results/profile'));
const ALLOCATION_S = Math.min(10, DURATION_S);
/** PROFILE_ALLOCATIONS=promoted: sample only the allocations that outlive the young generation. */
const PROMOTED_ONLY = process.env.PROFILE_ALLOCATIONS === 'promoted';
const TARGET = (['floor', 'floor-index'] as const).find((target) => target === process.env.PROFILE_TARGET) ?? 'webhook';
/** When the heap snapshot is taken: after the load (default), after sync instead of any load, or never. */
const HEAP = (['load', 'sync', 'none'] as const).find((when) => when === process.env.PROFILE_HEAP) ?? 'load';

/** Sends an order to the profile hooks and waits for its answer. */
function order<T>(child: ChildProcess, message: ProfileOrder): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (answer: { op: string; error?: string }) => {
      if (answer.op !== message.op) return;
      child.off('message', onMessage);
      if (answer.error !== undefined) reject(new Error(`${message.op}: ${answer.error}`));
      else resolve(answer as T);
    };
    child.on('message', onMessage);
    child.send(message);
  });
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

function describeMemory(figures: MemoryFigures): string {
  const spaces = figures.spaces
    .filter((space) => space.used > 512 * 1024)
    .map((space) => `${space.name} ${mb(space.used)}`)
    .join(', ');
  return `heap used ${mb(figures.heapUsed)} of ${mb(figures.heapTotal)} (${spaces}); external ${mb(figures.external)}, array buffers ${mb(figures.arrayBuffers)}; RSS ${mb(figures.rss)}`;
}

async function main(): Promise<void> {
  mkdirSync(OUT, { recursive: true });
  const dir = mkdtempSync(path.join(os.tmpdir(), 'eviction-guard-profile-'));
  const tls = makeTestCertificate();
  const certPath = path.join(dir, 'tls.crt');
  const keyPath = path.join(dir, 'tls.key');
  writeFileSync(certPath, tls.cert);
  writeFileSync(keyPath, tls.key);
  const lines: string[] = [];
  const say = (line: string) => {
    lines.push(line);
    process.stdout.write(`${line}\n`);
  };

  const deployment = deploymentEnvironment();
  const nodeFlags = deployment.nodeFlags;
  const nodeArgs = [...nodeFlags, '--expose-gc', '-r', path.join(__dirname, 'profile-hooks.js'), ...words(process.env.BENCH_NODE_ARGS)];
  let target: { child: ChildProcess; port: number };
  if (TARGET !== 'webhook') {
    const child = start(path.join(__dirname, 'baseline-servers.js'), [TARGET, certPath, keyPath], { nodeArgs, env: { ...process.env, ...deployment.env }, ipc: true });
    target = { child, port: await firstLine(child, (line) => Number(line) || undefined, `the ${TARGET} server`) };
    say(`express ${TARGET} (node ${nodeFlags.join(' ')}) listening`);
  } else {
    const cluster = await startFakeCluster(dir);
    const args = words(process.env.BENCH_WEBHOOK_ARGS);
    if (WITH_POLICIES) {
      const policyDir = path.join(dir, 'policies');
      mkdirSync(policyDir);
      writeBenchPolicies(policyDir);
      args.push('--policy', policyDir);
    }
    const webhook = await startWebhook({ kubeconfig: cluster.kubeconfig, certPath, keyPath, logFile: path.join(OUT, 'webhook.log'), home: dir, args, nodeArgs, env: deployment.env, ipc: true });
    target = webhook;
    const pid = webhook.child.pid!;
    say(`webhook (node ${nodeFlags.join(' ')}) ready in ${webhook.readyS.toFixed(2)} s with ${cluster.pods} pods and ${cluster.pdbs} PDBs; RSS ${memoryMb(pid, 'VmRSS').toFixed(1)} MB, peak ${memoryMb(pid, 'VmHWM').toFixed(1)} MB`);
  }
  const { child } = target;
  const pid = child.pid!;
  say(`after start, after a full GC: ${describeMemory(await order<MemoryFigures>(child, { op: 'memory' }))}`);
  const parts = rssParts(pid);
  say(`RSS: ${parts.anonymousMb.toFixed(1)} MB anonymous (V8 heap, malloc), ${parts.fileMb.toFixed(1)} MB file-backed (node, libraries)`);
  if (HEAP === 'sync') {
    // A snapshot inflates RSS for good (glibc keeps what the snapshot writer allocated): nothing after it is measured.
    await order(child, { op: 'heap', file: path.join(OUT, 'after-sync.heapsnapshot') });
    say(`wrote ${OUT}/after-sync.heapsnapshot`);
    writeFileSync(path.join(OUT, 'summary.txt'), `${lines.join('\n')}\n`);
    rmSync(dir, { recursive: true, force: true });
    return;
  }

  await runLoad({ name: 'warm-up', port: target.port, durationS: 5, connections: CONNECTIONS, stream: STREAM, countDenials: false });
  await order(child, { op: 'cpu-start' });
  const cpuBefore = cpuTimeMs(pid);
  const result = await runLoad({ name: 'profiled', port: target.port, durationS: DURATION_S, connections: CONNECTIONS, stream: STREAM, countDenials: true });
  const cpuMs = cpuTimeMs(pid) - cpuBefore;
  const profileFile = path.join(OUT, 'load.cpuprofile');
  const { gc } = await order<{ gc: GcTotals }>(child, { op: 'cpu-stop', file: profileFile });
  say(
    `load: ${STREAM}${WITH_POLICIES ? ', 100 policies' : ''}, ${CONNECTIONS} connections, ${DURATION_S} s: ${result.requests} requests, ${result.requestsPerSecond.toFixed(0)} req/s, ` +
      `p50 ${result.p50Ms} ms, p99 ${result.p99Ms} ms, failures ${result.failures}, denied ${((result.denied ?? 0) * 100).toFixed(1)} %`,
  );
  say(`CPU (user+system, /proc) ${cpuMs.toFixed(0)} ms = ${((cpuMs * 1000) / result.requests).toFixed(0)} µs per request (the profiler's sampling adds some)`);
  const gcLine = (Object.entries(gc) as [string, { count: number; ms: number }][])
    .map(([kind, { count, ms }]) => `${kind} ${count} (${ms.toFixed(0)} ms)`)
    .join(', ');
  say(`garbage collections during the load: ${gcLine}; ${((gc.minor.ms + gc.major.ms + gc.incremental.ms) * 1000 / result.requests).toFixed(0)} µs per request in pauses`);
  say(`peak RSS ${memoryMb(pid, 'VmHWM').toFixed(1)} MB`);
  say(`after the load, after a full GC: ${describeMemory(await order<MemoryFigures>(child, { op: 'memory' }))}`);

  // Allocations in a window of their own: sampling them slows the process down.
  const allocationFile = path.join(OUT, 'load.heapprofile');
  await order(child, { op: 'alloc-start', promotedOnly: PROMOTED_ONLY });
  const allocated = await runLoad({ name: 'allocations', port: target.port, durationS: ALLOCATION_S, connections: CONNECTIONS, stream: STREAM, countDenials: false });
  await order(child, { op: 'alloc-stop', file: allocationFile });
  const allocationProfile = JSON.parse(readFileSync(allocationFile, 'utf8')) as AllocationProfile;
  unbundleFrames(framesOf(allocationProfile), WEBHOOK_BUNDLE);
  const allocations = summarizeAllocations(allocationProfile);
  if (HEAP === 'load') await order(child, { op: 'heap', file: path.join(OUT, 'after-load.heapsnapshot') });

  const profile = JSON.parse(readFileSync(profileFile, 'utf8')) as CpuProfile;
  unbundleFrames(framesOf(profile), WEBHOOK_BUNDLE);
  const summary = summarizeProfile(profile);
  say(`\nprofile: ${summary.busyMs.toFixed(0)} ms busy of ${summary.wallMs.toFixed(0)} ms on the main thread (GC helper threads and the kernel are not in it)`);
  say(formatShares('self time by area:', summary.byArea.slice(0, 20), result.requests));
  say(formatShares('self time by function:', summary.bySelf, result.requests));
  const ours = inclusiveTimes(profile, isOwnFrame);
  const oursRanked = [...ours.entries()].sort((a, b) => b[1] - a[1]).slice(0, 25);
  say(formatShares('time in our functions, callees included:', oursRanked.map(([name, ms]) => ({ name, ms, share: ms / summary.busyMs })), result.requests));
  say(
    `\nallocated during ${ALLOCATION_S} s more of load: ${allocated.requests} requests, ${(allocations.totalBytes / allocated.requests / 1024).toFixed(1)} KB per request ` +
      `(sampled, ${PROMOTED_ONLY ? 'only what outlived the young generation' : 'garbage included'})`,
  );
  say(formatAllocations('allocations by area:', allocations.byArea.slice(0, 15), allocated.requests));
  say(formatAllocations('allocations by function:', allocations.bySelf, allocated.requests));
  writeFileSync(path.join(OUT, 'summary.txt'), `${lines.join('\n')}\n`);
  process.stdout.write(`\nwrote ${OUT}/summary.txt, load.cpuprofile, load.heapprofile${HEAP === 'load' ? ' and after-load.heapsnapshot' : ''}\n`);
  rmSync(dir, { recursive: true, force: true });
}

main()
  .catch((error: unknown) => {
    process.stderr.write(`profile failed: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exitCode = 1;
  })
  .finally(stopChildren);
