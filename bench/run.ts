// `npm run bench`: the webhook against a synthetic cluster of 100k pods and 10k PDBs, next to a
// bare express app answering a fixed AdmissionReview (the floor) and a bare node https server (the
// limit), all over HTTPS on 127.0.0.1 with 50 connections, each server in its own process.
// Figures are reported as ratios measured in the same run, because machines are noisy. A second
// webhook then serves the same cluster with 100 EvictionPolicies (20 of them CEL) loaded.
// Environment: BENCH_DURATION (seconds per target, default 10), BENCH_CONNECTIONS (default 50),
// BENCH_WEBHOOK_ARGS (extra `serve` flags) and BENCH_NODE_ARGS (extra node flags for the webhook,
// e.g. --cpu-prof), space-separated, for experiments.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { makeTestCertificate } from '../test/helpers/tls';
import { benchContinuousLint } from './pdb-health';
import { writeBenchPolicies } from './policies';
import { benchReservations } from './reservations';
import { BENCH_CLUSTER, isExhausted, namespaceName, podName } from './synthetic-cluster';

// autocannon ships no types; this is the part of its API the bench uses.
interface AutocannonResult {
  requests: { average: number };
  latency: { p50: number; p99: number };
  errors: number;
  timeouts: number;
  non2xx: number;
  '2xx': number;
}
type Autocannon = (options: Record<string, unknown>) => Promise<AutocannonResult>;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const autocannon = require('autocannon') as Autocannon;

const ROOT = path.resolve(__dirname, '../..');
const DURATION_S = Number(process.env.BENCH_DURATION ?? 10);
const WARMUP_S = 2;
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const TARGETS = { floorRatio: 0.9, policyFloorRatio: 0.85, p99Ms: 25, rssMb: 250, readyS: 10 };

interface LoadResult {
  name: string;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  failures: number;
  /** Share of webhook answers that were denials (the rest were allowed). */
  denied?: number;
}

const words = (text: string | undefined) => (text ?? '').split(' ').filter(Boolean);

const children: ChildProcess[] = [];
/** Starts a child; its stdout is piped to the bench, or written to `logFile` (a pipe into this busy process would block its writes). */
function start(script: string, args: string[], options: { env?: NodeJS.ProcessEnv; nodeArgs?: string[]; logFile?: string } = {}): ChildProcess {
  const stdout = options.logFile === undefined ? 'pipe' : openSync(options.logFile, 'w');
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), script, ...args], { cwd: ROOT, env: options.env ?? process.env, stdio: ['ignore', stdout, 'inherit'] });
  children.push(child);
  return child;
}

/** The first stdout line that passes `accept`; later output is drained so the child never blocks on a full pipe. */
function firstLine<T>(child: ChildProcess, accept: (line: string) => T | undefined, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    let done = false;
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (done) return;
      const value = accept(line);
      if (value !== undefined) {
        done = true;
        resolve(value);
      }
    });
    child.once('exit', (code) => done || reject(new Error(`${what} exited with code ${code} before it was ready`)));
  });
}

/** The node flags `npm start` runs the webhook with (the heap ceiling), so the bench measures the same process. */
function startNodeFlags(): string[] {
  const { scripts } = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } };
  const flags = /^node ((?:--\S+ )*)dist\/cli\/main\.js serve/.exec(scripts.start);
  if (!flags) throw new Error(`cannot read the node flags of the start script: ${scripts.start}`);
  return words(flags[1]);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
    probe.on('error', reject);
  });
}

function memoryMb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) / 1024 : NaN;
}

function get(port: number, urlPath: string): Promise<number> {
  return new Promise((resolve) => {
    https
      .get({ host: '127.0.0.1', port, path: urlPath, rejectUnauthorized: false, agent: false }, (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      })
      .on('error', () => resolve(0));
  });
}

/**
 * The request streams. 'allowed': every pod whose PDB allows a disruption, in turn, so each request
 * reads a different pod and PDB. 'mixed': every pod in turn, so a tenth hit a PDB at 0 and are
 * denied, each deny confirmed by a live read of the fake API server (which shares this machine).
 */
type Stream = 'allowed' | 'mixed';

function* evictionTargets(stream: Stream): Generator<{ namespace: string; pod: string }> {
  const podsPerApp = BENCH_CLUSTER.podsPerNamespace / BENCH_CLUSTER.pdbsPerNamespace;
  for (;;) {
    for (let i = 0; i < podsPerApp; i++) {
      for (let n = 0; n < BENCH_CLUSTER.namespaces; n++) {
        for (let app = 0; app < BENCH_CLUSTER.pdbsPerNamespace; app++) {
          if (stream === 'allowed' && isExhausted(BENCH_CLUSTER, app)) continue;
          yield { namespace: namespaceName(n), pod: podName(app, i) };
        }
      }
    }
  }
}

let uid = 0;
const streams = { allowed: evictionTargets('allowed'), mixed: evictionTargets('mixed') };
function admissionReview(stream: Stream): string {
  const { namespace, pod } = streams[stream].next().value as { namespace: string; pod: string };
  return JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: `bench-${++uid}`,
      kind: { group: 'policy', version: 'v1', kind: 'Eviction' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      subResource: 'eviction',
      requestKind: { group: 'policy', version: 'v1', kind: 'Eviction' },
      requestResource: { group: '', version: 'v1', resource: 'pods' },
      requestSubResource: 'eviction',
      name: pod,
      namespace,
      operation: 'CREATE',
      userInfo: { username: 'system:serviceaccount:kube-system:cluster-autoscaler', groups: ['system:serviceaccounts', 'system:authenticated'] },
      object: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: pod, namespace }, deleteOptions: { gracePeriodSeconds: 30 } },
      oldObject: null,
      dryRun: false,
      options: { apiVersion: 'meta.k8s.io/v1', kind: 'CreateOptions' },
    },
  });
}

async function load(name: string, port: number, durationS: number, stream: Stream, countDenials = false): Promise<LoadResult> {
  let denials = 0;
  let answers = 0;
  const result = await autocannon({
    url: `https://127.0.0.1:${port}`,
    connections: CONNECTIONS,
    duration: durationS,
    requests: [
      {
        method: 'POST',
        path: '/validate',
        headers: { 'content-type': 'application/json' },
        setupRequest: (request: Record<string, unknown>) => ({ ...request, body: admissionReview(stream) }),
        onResponse: countDenials
          ? (_status: number, body: string) => {
              answers++;
              if (body.includes('"allowed":false')) denials++;
            }
          : undefined,
      },
    ],
  });
  return {
    name,
    requestsPerSecond: result.requests.average,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    failures: result.errors + result.timeouts + result.non2xx,
    ...(countDenials ? { denied: answers > 0 ? denials / answers : 0 } : {}),
  };
}

async function measure(name: string, port: number, stream: Stream = 'allowed', countDenials = false): Promise<LoadResult> {
  await load(`${name} (warm-up)`, port, WARMUP_S, stream);
  return load(name, port, DURATION_S, stream, countDenials);
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

  process.stdout.write(`loading ${BENCH_CLUSTER.namespaces * BENCH_CLUSTER.podsPerNamespace} pods and ${BENCH_CLUSTER.namespaces * BENCH_CLUSTER.pdbsPerNamespace} PDBs into the fake API server…\n`);
  const fake = start(path.join(__dirname, 'fake-cluster.js'), [dir]);
  const cluster = await firstLine(fake, (line) => JSON.parse(line) as { kubeconfig: string; pods: number; pdbs: number; loadMs: number }, 'the fake API server');

  // The webhook exactly as `npm start` runs it, logging every decision at info level to a file, as a
  // container runtime would take its stdout.
  const startWebhook = async (logFile: string, extraArgs: string[] = []) => {
    const port = await freePort();
    const startedAt = process.hrtime.bigint();
    const child = start(
      path.join(ROOT, 'dist/cli/main.js'),
      ['serve', '--port', String(port), '--kubeconfig', cluster.kubeconfig, '--tls-cert', certPath, '--tls-key', keyPath, '--metrics-port', '0', ...extraArgs, ...words(process.env.BENCH_WEBHOOK_ARGS)],
      { env: { ...process.env, HOME: dir }, nodeArgs: [...startNodeFlags(), ...words(process.env.BENCH_NODE_ARGS)], logFile },
    );
    while ((await get(port, '/readyz')) !== 200) {
      if (Number(process.hrtime.bigint() - startedAt) / 1e9 > 120) throw new Error('the webhook was not ready after 120 s');
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    return { child, port, readyS: Number(process.hrtime.bigint() - startedAt) / 1e9 };
  };
  const webhookLog = path.join(dir, 'webhook.log');
  const { child: webhook, port: webhookPort, readyS } = await startWebhook(webhookLog);
  const rssAfterSyncMb = memoryMb(webhook.pid!, 'VmRSS');
  process.stdout.write(`webhook ready in ${fixed(readyS, 2)} s, RSS ${fixed(rssAfterSyncMb)} MB\n`);

  const floor = start(path.join(__dirname, 'baseline-servers.js'), ['floor', certPath, keyPath]);
  const limit = start(path.join(__dirname, 'baseline-servers.js'), ['limit', certPath, keyPath]);
  const floorPort = await firstLine(floor, (line) => Number(line) || undefined, 'the floor server');
  const limitPort = await firstLine(limit, (line) => Number(line) || undefined, 'the limit server');

  process.stdout.write(`driving each target for ${WARMUP_S}+${DURATION_S} s with ${CONNECTIONS} connections…\n`);
  const results = [
    await measure('https limit', limitPort),
    await measure('express floor', floorPort),
    await measure('eviction-guard, allowed', webhookPort, 'allowed', true),
    await measure('eviction-guard, 10% denied', webhookPort, 'mixed', true),
  ];
  const peakRssMb = memoryMb(webhook.pid!, 'VmHWM');
  webhook.kill('SIGTERM');

  // The same cluster and requests with 100 policies loaded from files; all of them match and pass,
  // so the decisions stay those of the allowed run and the difference is the policy engine's cost.
  const policyDir = path.join(dir, 'policies');
  mkdirSync(policyDir);
  const policyCount = writeBenchPolicies(policyDir);
  const policyLog = path.join(dir, 'webhook-policies.log');
  const { child: policyWebhook, port: policyPort } = await startWebhook(policyLog, ['--policy', policyDir]);
  const loaded = policiesInForce(policyLog);
  if (loaded.policies !== policyCount || loaded.invalid !== 0) throw new Error(`expected ${policyCount} valid policies, the webhook loaded ${JSON.stringify(loaded)}`);
  const policyResult = await measure(`eviction-guard, ${policyCount} policies`, policyPort, 'allowed', true);
  policyWebhook.kill('SIGTERM');
  const [limitResult, floorResult, allowedResult, mixedResult] = results;
  results.push(policyResult);
  const policyFloorRatio = policyResult.requestsPerSecond / floorResult.requestsPerSecond;
  const floorRatio = allowedResult.requestsPerSecond / floorResult.requestsPerSecond;
  const limitRatio = allowedResult.requestsPerSecond / limitResult.requestsPerSecond;
  const mixedFloorRatio = mixedResult.requestsPerSecond / floorResult.requestsPerSecond;

  const rows = results.map(
    (r) =>
      `${r.name.padEnd(28)} ${fixed(r.requestsPerSecond, 0).padStart(7)} req/s   p50 ${fixed(r.p50Ms).padStart(5)} ms   p99 ${fixed(r.p99Ms).padStart(5)} ms   ` +
      `failures ${r.failures}${r.denied === undefined ? '' : `   denied ${fixed(r.denied * 100)} %`}`,
  );
  const checks = [
    `throughput vs express floor  ${fixed(floorRatio, 2)}x  (target >= ${TARGETS.floorRatio}x)  ${verdict(floorRatio >= TARGETS.floorRatio)}`,
    `throughput vs https limit    ${fixed(limitRatio, 2)}x`,
    `webhook p99                  ${fixed(allowedResult.p99Ms)} ms  (target <= ${TARGETS.p99Ms} ms; the floor's own p99 is ${fixed(floorResult.p99Ms)} ms)  ${verdict(allowedResult.p99Ms <= TARGETS.p99Ms)}`,
    `with 10% denied (live confirm reads)  ${fixed(mixedFloorRatio, 2)}x the floor, p99 ${fixed(mixedResult.p99Ms)} ms`,
    `with ${policyCount} policies (20 CEL)     ${fixed(policyFloorRatio, 2)}x the floor  (target >= ${TARGETS.policyFloorRatio}x; ${fixed(policyResult.requestsPerSecond / allowedResult.requestsPerSecond, 2)}x without policies), p99 ${fixed(policyResult.p99Ms)} ms  ${verdict(policyFloorRatio >= TARGETS.policyFloorRatio)}`,
    `webhook peak RSS             ${fixed(peakRssMb)} MB  (after sync ${fixed(rssAfterSyncMb)} MB; target <= ${TARGETS.rssMb} MB)  ${verdict(peakRssMb <= TARGETS.rssMb)}`,
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
  const continuousLint = await benchContinuousLint({ dir, startWebhook, measure, memoryMb });
  process.stdout.write(`\n${continuousLint.rows.join('\n')}\n`);

  const resultsDir = path.join(ROOT, 'bench/results');
  mkdirSync(resultsDir, { recursive: true });
  writeFileSync(
    path.join(resultsDir, 'latest.json'),
    `${JSON.stringify({ date: new Date().toISOString(), node: process.version, cpus: os.cpus().length, connections: CONNECTIONS, durationS: DURATION_S, cluster: { pods: cluster.pods, pdbs: cluster.pdbs }, results, decisions, policyDecisions, floorRatio, limitRatio, mixedFloorRatio, policyFloorRatio, peakRssMb, rssAfterSyncMb, readyS, reservations: reservations.result, continuousLint: continuousLint.figures }, null, 2)}\n`,
  );
  rmSync(dir, { recursive: true, force: true });
}

main()
  .catch((error: unknown) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exitCode = 1;
  })
  .finally(() => {
    for (const child of children) child.kill('SIGTERM');
  });
