// `npm run bench`: the webhook against a synthetic cluster of 100k pods and 10k PDBs, next to a
// bare express app answering a fixed AdmissionReview (the floor), the same app holding the webhook's
// index of that cluster (the floor + index: what the heap alone costs), and a bare node https
// server (the limit), all over HTTPS on 127.0.0.1 with 50 connections, each server in its own
// process and the load generator (autocannon) in one more. Figures are reported as ratios measured in the same
// run, because machines are noisy, with the CPU time each server spent per request. A second
// webhook then serves the same cluster with 100 EvictionPolicies (20 of them CEL) loaded.
// Environment: BENCH_DURATION (seconds per target, default 10), BENCH_WARMUP (seconds before each,
// default 3), BENCH_CONNECTIONS (default 50),
// BENCH_WEBHOOK_ARGS (extra `serve` flags) and BENCH_NODE_ARGS (extra node flags for the webhook),
// space-separated, for experiments. `npm run bench:profile` (profile.ts) shows where the time goes.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { makeTestCertificate } from '../test/helpers/tls';
import { runLoad, type LoadResult, type Stream } from './load';
import { benchContinuousLint } from './pdb-health';
import { writeBenchPolicies } from './policies';
import { benchReservations } from './reservations';
import { benchSecurity, securityReport } from './security';
import { BENCH_CLUSTER } from './synthetic-cluster';
import { cpuTimeMs, deploymentEnvironment, firstLine, memoryMb, ROOT, start, startFakeCluster, startWebhook, stopChildren, words } from './processes';

const DURATION_S = Number(process.env.BENCH_DURATION ?? 10);
const WARMUP_S = Number(process.env.BENCH_WARMUP ?? 3);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
/** The issue's targets; p99 is a multiple of the floor's own p99 in the same run. */
const TARGETS = { floorRatio: 0.85, policyFloorRatio: 0.75, p99FloorMultiple: 1.5, rssMb: 250, readyS: 10 };

/** A load result with the CPU time the server used during its load window. */
interface Measured extends LoadResult {
  /** User plus system CPU of the server's process per answered request, in µs. */
  cpuUsPerRequest: number;
}

/** Warms the target up, then drives it from the load generator's process while reading the server's CPU time. */
async function measure(name: string, pid: number, port: number, stream: Stream = 'allowed', countDenials = false): Promise<Measured> {
  await runLoad({ name: `${name} (warm-up)`, port, durationS: WARMUP_S, connections: CONNECTIONS, stream, countDenials: false });
  const cpuBefore = cpuTimeMs(pid);
  const result = await runLoad({ name, port, durationS: DURATION_S, connections: CONNECTIONS, stream, countDenials });
  const cpuMs = cpuTimeMs(pid) - cpuBefore;
  return { ...result, cpuUsPerRequest: result.requests > 0 ? (cpuMs * 1000) / result.requests : NaN };
}

/** What the webhook's last "policies in force" log line says it loaded. */
function policiesInForce(logFile: string): { policies: number; invalid: number } {
  const line = readFileSync(logFile, 'utf8')
    .split('\n')
    .filter((entry) => entry.includes('"policies in force"'))
    .at(-1);
  const { policies, invalid } = line === undefined ? { policies: [], invalid: NaN } : (JSON.parse(line) as { policies: string[]; invalid: number });
  return { policies: policies.length, invalid };
}

interface LatencySummary {
  count: number;
  p50: number;
  p99: number;
}

function summarize(values: number[]): LatencySummary {
  values.sort((a, b) => a - b);
  const at = (q: number) => (values.length === 0 ? NaN : values[Math.min(values.length - 1, Math.floor(q * values.length))]);
  return { count: values.length, p50: at(0.5), p99: at(0.99) };
}

/** Time spent deciding, from the webhook's own audit lines, split by decision. */
function decisionLatencies(logFile: string): { allow: LatencySummary; deny: LatencySummary } {
  const allow: number[] = [];
  const deny: number[] = [];
  for (const line of readFileSync(logFile, 'utf8').split('\n')) {
    if (!line.includes('"audit"')) continue;
    const { audit } = JSON.parse(line) as { audit: { allowed: boolean; latencyMs: number } };
    (audit.allowed ? allow : deny).push(audit.latencyMs);
  }
  return { allow: summarize(allow), deny: summarize(deny) };
}

const fixed = (value: number, digits = 1) => value.toFixed(digits);
const verdict = (pass: boolean) => (pass ? 'PASS' : 'FAIL');

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'eviction-guard-bench-'));
  const tls = makeTestCertificate();
  const certPath = path.join(dir, 'tls.crt');
  const keyPath = path.join(dir, 'tls.key');
  writeFileSync(certPath, tls.cert);
  writeFileSync(keyPath, tls.key);

  const [loadAverage] = os.loadavg();
  process.stdout.write(
    `machine: ${os.cpus().length} CPUs, load average ${fixed(loadAverage, 2)}${loadAverage > 1 ? ' (other processes are running: throughput ratios will be noisy; CPU per request less so)' : ''}\n`,
  );
  process.stdout.write(`loading ${BENCH_CLUSTER.namespaces * BENCH_CLUSTER.podsPerNamespace} pods and ${BENCH_CLUSTER.namespaces * BENCH_CLUSTER.pdbsPerNamespace} PDBs into the fake API server…\n`);
  const cluster = await startFakeCluster(dir);

  // The webhook as the Deployment runs it (its NODE_OPTIONS and environment), logging every decision at info level
  // to a file, as a container runtime would take its stdout.
  const deployment = deploymentEnvironment();
  const nodeFlags = [...deployment.nodeFlags, ...words(process.env.BENCH_NODE_ARGS)];
  const webhookOptions = { kubeconfig: cluster.kubeconfig, certPath, keyPath, home: dir, nodeArgs: nodeFlags, env: deployment.env };
  const webhookArgs = words(process.env.BENCH_WEBHOOK_ARGS);
  const webhookLog = path.join(dir, 'webhook.log');
  const webhook = await startWebhook({ ...webhookOptions, logFile: webhookLog, args: webhookArgs });
  const { readyS } = webhook;
  const webhookPid = webhook.child.pid!;
  const rssAfterSyncMb = memoryMb(webhookPid, 'VmRSS');
  const environment = Object.entries(deployment.env).map(([name, value]) => `${name}=${value} `).join('');
  process.stdout.write(`webhook (${environment}node ${nodeFlags.join(' ')}) ready in ${fixed(readyS, 2)} s, RSS ${fixed(rssAfterSyncMb)} MB\n`);

  const floor = start(path.join(__dirname, 'baseline-servers.js'), ['floor', certPath, keyPath]);
  const limit = start(path.join(__dirname, 'baseline-servers.js'), ['limit', certPath, keyPath]);
  // Under the webhook's own node flags and environment: it holds the webhook's heap.
  const floorIndex = start(path.join(__dirname, 'baseline-servers.js'), ['floor-index', certPath, keyPath], { nodeArgs: nodeFlags, env: { ...process.env, ...deployment.env } });
  const floorPort = await firstLine(floor, (line) => Number(line) || undefined, 'the floor server');
  const limitPort = await firstLine(limit, (line) => Number(line) || undefined, 'the limit server');
  const floorIndexPort = await firstLine(floorIndex, (line) => Number(line) || undefined, 'the floor server holding the index');
  const floorIndexRssMb = memoryMb(floorIndex.pid!, 'VmRSS');

  process.stdout.write(`driving each target for ${WARMUP_S}+${DURATION_S} s with ${CONNECTIONS} connections from a load generator process…\n`);
  const results = [
    await measure('https limit', limit.pid!, limitPort),
    await measure('express floor', floor.pid!, floorPort),
    await measure('express floor + index', floorIndex.pid!, floorIndexPort),
    await measure('eviction-guard, allowed', webhookPid, webhook.port, 'allowed', true),
    await measure('eviction-guard, 10% denied', webhookPid, webhook.port, 'mixed', true),
  ];
  floorIndex.kill('SIGTERM');
  const peakRssMb = memoryMb(webhookPid, 'VmHWM');
  webhook.child.kill('SIGTERM');

  // The same cluster and requests with 100 policies loaded from files; all of them match and pass,
  // so the decisions stay those of the allowed run and the difference is the policy engine's cost.
  const policyDir = path.join(dir, 'policies');
  mkdirSync(policyDir);
  const policyCount = writeBenchPolicies(policyDir);
  const policyLog = path.join(dir, 'webhook-policies.log');
  const policyWebhook = await startWebhook({ ...webhookOptions, logFile: policyLog, args: ['--policy', policyDir, ...webhookArgs] });
  const loaded = policiesInForce(policyLog);
  if (loaded.policies !== policyCount || loaded.invalid !== 0) throw new Error(`expected ${policyCount} valid policies, the webhook loaded ${JSON.stringify(loaded)}`);
  const policyResult = await measure(`eviction-guard, ${policyCount} policies`, policyWebhook.child.pid!, policyWebhook.port, 'allowed', true);
  const policyPeakRssMb = memoryMb(policyWebhook.child.pid!, 'VmHWM');
  policyWebhook.child.kill('SIGTERM');
  const [limitResult, floorResult, floorIndexResult, allowedResult, mixedResult] = results;
  results.push(policyResult);
  const policyFloorRatio = policyResult.requestsPerSecond / floorResult.requestsPerSecond;
  const floorRatio = allowedResult.requestsPerSecond / floorResult.requestsPerSecond;
  const limitRatio = allowedResult.requestsPerSecond / limitResult.requestsPerSecond;
  const mixedFloorRatio = mixedResult.requestsPerSecond / floorResult.requestsPerSecond;
  const p99TargetMs = TARGETS.p99FloorMultiple * floorResult.p99Ms;
  const outsideExpressUs = allowedResult.cpuUsPerRequest - floorResult.cpuUsPerRequest;
  const floorIndexRatio = floorIndexResult.requestsPerSecond / floorResult.requestsPerSecond;
  const indexFloorRatio = allowedResult.requestsPerSecond / floorIndexResult.requestsPerSecond;
  const policyIndexFloorRatio = policyResult.requestsPerSecond / floorIndexResult.requestsPerSecond;

  const rows = results.map(
    (r) =>
      `${r.name.padEnd(28)} ${fixed(r.requestsPerSecond, 0).padStart(7)} req/s   p50 ${fixed(r.p50Ms).padStart(5)} ms   p99 ${fixed(r.p99Ms).padStart(5)} ms   ` +
      `CPU ${fixed(r.cpuUsPerRequest, 0).padStart(4)} µs/req   failures ${r.failures}${r.denied === undefined ? '' : `   denied ${fixed(r.denied * 100)} %`}`,
  );
  const checks = [
    `throughput vs express floor  ${fixed(floorRatio, 2)}x  (target >= ${TARGETS.floorRatio}x)  ${verdict(floorRatio >= TARGETS.floorRatio)}`,
    `throughput vs https limit    ${fixed(limitRatio, 2)}x`,
    `webhook p99                  ${fixed(allowedResult.p99Ms)} ms  (target <= ${TARGETS.p99FloorMultiple}x the floor's = ${fixed(p99TargetMs)} ms; the floor's own p99 is ${fixed(floorResult.p99Ms)} ms)  ${verdict(allowedResult.p99Ms <= p99TargetMs)}`,
    `CPU per request              webhook ${fixed(allowedResult.cpuUsPerRequest, 0)} µs, express floor ${fixed(floorResult.cpuUsPerRequest, 0)} µs, https limit ${fixed(limitResult.cpuUsPerRequest, 0)} µs: ${fixed(outsideExpressUs, 0)} µs outside express`,
    `express floor + index        ${fixed(floorIndexRatio, 2)}x the floor, p99 ${fixed(floorIndexResult.p99Ms)} ms (${fixed(floorIndexResult.p99Ms / floorResult.p99Ms, 2)}x the floor's), CPU ${fixed(floorIndexResult.cpuUsPerRequest - floorResult.cpuUsPerRequest, 0)} µs/req more, RSS ${fixed(floorIndexRssMb)} MB: the floor holding the webhook's index of ${cluster.pods} pods, doing nothing with it`,
    `against the floor + index    webhook ${fixed(indexFloorRatio, 2)}x, p99 ${fixed(allowedResult.p99Ms / floorIndexResult.p99Ms, 2)}x its p99; with ${policyCount} policies ${fixed(policyIndexFloorRatio, 2)}x; CPU ${fixed(allowedResult.cpuUsPerRequest - floorIndexResult.cpuUsPerRequest, 0)} µs/req for the webhook's own work`,
    `with 10% denied (live confirm reads)  ${fixed(mixedFloorRatio, 2)}x the floor, p99 ${fixed(mixedResult.p99Ms)} ms, CPU ${fixed(mixedResult.cpuUsPerRequest, 0)} µs/req  (reported, no target)`,
    `with ${policyCount} policies (20 CEL)     ${fixed(policyFloorRatio, 2)}x the floor  (target >= ${TARGETS.policyFloorRatio}x; ${fixed(policyResult.requestsPerSecond / allowedResult.requestsPerSecond, 2)}x without policies), p99 ${fixed(policyResult.p99Ms)} ms, CPU ${fixed(policyResult.cpuUsPerRequest, 0)} µs/req  ${verdict(policyFloorRatio >= TARGETS.policyFloorRatio)}`,
    `webhook peak RSS             ${fixed(peakRssMb)} MB  (after sync ${fixed(rssAfterSyncMb)} MB; with policies ${fixed(policyPeakRssMb)} MB; target <= ${TARGETS.rssMb} MB)  ${verdict(Math.max(peakRssMb, policyPeakRssMb) <= TARGETS.rssMb)}`,
    `start to ready, ${cluster.pods} pods  ${fixed(readyS, 2)} s  (target <= ${TARGETS.readyS} s)  ${verdict(readyS <= TARGETS.readyS)}`,
  ];
  process.stdout.write(`\n${rows.join('\n')}\n\n${checks.join('\n')}\n`);

  const decisions = decisionLatencies(webhookLog);
  process.stdout.write(
    `decision time in the webhook (audit latencyMs): allow p50 ${fixed(decisions.allow.p50, 2)} ms p99 ${fixed(decisions.allow.p99, 2)} ms (${decisions.allow.count}), ` +
      `deny incl. live confirm p50 ${fixed(decisions.deny.p50, 2)} ms p99 ${fixed(decisions.deny.p99, 2)} ms (${decisions.deny.count})\n`,
  );
  const policyDecisions = decisionLatencies(policyLog);
  process.stdout.write(
    `decision time with ${policyCount} policies: allow p50 ${fixed(policyDecisions.allow.p50, 2)} ms p99 ${fixed(policyDecisions.allow.p99, 2)} ms (${policyDecisions.allow.count})\n`,
  );

  const reservations = await benchReservations();
  process.stdout.write(`\n${reservations.lines.join('\n')}\n`);
  const continuousLint = await benchContinuousLint({
    dir,
    startWebhook: (logFile, extraArgs) => startWebhook({ ...webhookOptions, logFile, args: [...extraArgs, ...webhookArgs] }),
    measure: async (name, port) => {
      await runLoad({ name: `${name} (warm-up)`, port, durationS: WARMUP_S, connections: CONNECTIONS, stream: 'allowed', countDenials: false });
      return runLoad({ name, port, durationS: DURATION_S, connections: CONNECTIONS, stream: 'allowed', countDenials: false });
    },
    memoryMb,
  });
  process.stdout.write(`\n${continuousLint.rows.join('\n')}\n`);
  const security = await benchSecurity({ dir, certPath, keyPath, serverCa: tls.cert, durationS: DURATION_S, warmupS: WARMUP_S, connections: CONNECTIONS });
  process.stdout.write(`\n${securityReport(security)}\n`);

  const resultsDir = path.join(ROOT, 'bench/results');
  mkdirSync(resultsDir, { recursive: true });
  writeFileSync(
    path.join(resultsDir, 'latest.json'),
    `${JSON.stringify({ date: new Date().toISOString(), node: process.version, nodeFlags, env: deployment.env, cpus: os.cpus().length, loadAverage: os.loadavg(), connections: CONNECTIONS, durationS: DURATION_S, cluster: { pods: cluster.pods, pdbs: cluster.pdbs }, results, decisions, policyDecisions, floorRatio, floorIndexRatio, indexFloorRatio, policyIndexFloorRatio, floorIndexRssMb, limitRatio, mixedFloorRatio, policyFloorRatio, outsideExpressUs, peakRssMb, policyPeakRssMb, rssAfterSyncMb, readyS, security }, null, 2)}\n`,
  );
  rmSync(dir, { recursive: true, force: true });
}

main()
  .catch((error: unknown) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exitCode = 1;
  })
  .finally(stopChildren);
