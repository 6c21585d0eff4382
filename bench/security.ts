// `npm run bench`, security section: what delegated access (TokenReview and SubjectAccessReview,
// cached) and mTLS on /validate cost. Each figure is a ratio to the same express app and HTTPS
// server without the check, measured in the same run: the server's own CPU time per request (read
// from /proc, so load elsewhere on the machine does not count) and the throughput, the two servers
// alternating in three slices of the duration (bench/security-server.ts runs them):
//   - /audit/recent with one reader's token (every answer from the cache) vs no check;
//   - /audit/recent with a new token for every request (a TokenReview and a SubjectAccessReview
//     per request, to a fake API server in its own process) vs no check, at 8 connections, below
//     the cap of 16 reviews in flight;
//   - /validate over kept-alive connections with a verified client certificate vs none asked;
//   - a new TLS connection per request (the handshake), with a client certificate vs without.
import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { issueTestClientCertificate, makeTestAuthority } from '../test/helpers/tls';
import { runLoad, type LoadRequest } from './load';
import { cpuTimeMs, firstLine, start } from './processes';

export const BENCH_TOKEN_PREFIX = 'bench-token-';

/** Enough distinct valid tokens that the uncached runs never repeat one. */
const TOKENS = 200_000;
const UNCACHED_CONNECTIONS = 8;
const HANDSHAKES = 300;
/** Each comparison alternates its two targets this many times. */
const ROUNDS = 3;

export interface SecurityBenchOptions {
  dir: string;
  certPath: string;
  keyPath: string;
  /** The serving certificate, trusted by the handshake runs. */
  serverCa: string;
  durationS: number;
  warmupS: number;
  connections: number;
}

export interface SecurityRun {
  name: string;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  failures: number;
  /** The server's CPU time (user + system) per request answered. */
  cpuUsPerRequest: number;
}

/** With the check / without it, each the median over the alternating rounds. */
export interface SecurityCost {
  cpuPerRequest: number;
  throughput: number;
}

export interface SecurityBenchResult {
  runs: SecurityRun[];
  cachedToken: SecurityCost;
  uncachedToken: SecurityCost;
  mtls: SecurityCost;
  /** A new connection per request (the TLS handshake), with a client certificate / without. */
  mtlsHandshake: SecurityCost;
  handshakeCpuUs: { plain: number; mtls: number };
}

interface Server {
  port: number;
  pid: number;
}

/** A load of one server: the load generator's request, and whose CPU time to read. */
type Target = Omit<LoadRequest, 'durationS'> & { pid: number };

async function load(target: Target, durationS: number): Promise<SecurityRun> {
  const cpuBefore = cpuTimeMs(target.pid);
  const result = await runLoad({ ...target, durationS });
  const cpuUsPerRequest = ((cpuTimeMs(target.pid) - cpuBefore) * 1000) / Math.max(1, result.requests);
  return { name: target.name, requestsPerSecond: result.requestsPerSecond, p50Ms: result.p50Ms, p99Ms: result.p99Ms, failures: result.failures, cpuUsPerRequest };
}

/** Wall and server CPU time per request over a new TLS connection each (no keep-alive, no session reuse). */
async function perHandshake(requests: number, server: Server, serverCa: string, client?: { cert: string; key: string }): Promise<{ ms: number; cpuUs: number }> {
  const once = () =>
    new Promise<void>((resolve, reject) => {
      https
        .get({ host: '127.0.0.1', port: server.port, path: '/healthz', ca: serverCa, cert: client?.cert, key: client?.key, agent: false }, (response) => {
          response.resume();
          response.on('end', resolve);
        })
        .on('error', reject);
    });
  const started = performance.now();
  const cpuBefore = cpuTimeMs(server.pid);
  for (let index = 0; index < requests; index++) await once();
  return { ms: (performance.now() - started) / requests, cpuUs: ((cpuTimeMs(server.pid) - cpuBefore) * 1000) / requests };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const mean = (values: number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;

/** Several runs of one target as one: mean throughput, p50 and CPU, worst p99, failures added up. */
function merged(runs: SecurityRun[]): SecurityRun {
  return {
    name: runs[0].name,
    requestsPerSecond: mean(runs.map((run) => run.requestsPerSecond)),
    p50Ms: mean(runs.map((run) => run.p50Ms)),
    p99Ms: Math.max(...runs.map((run) => run.p99Ms)),
    failures: runs.reduce((sum, run) => sum + run.failures, 0),
    cpuUsPerRequest: mean(runs.map((run) => run.cpuUsPerRequest)),
  };
}

/**
 * The target without the check and with it, in alternating slices of the duration, so that load
 * from elsewhere on the machine falls on both alike; each cost is the median of the slices' ratios.
 * A target is a function of the slice, so that each slice can hand out tokens of its own.
 */
async function compare(without: () => Target, withCheck: () => Target, durationS: number, warmupS: number) {
  await load(without(), warmupS);
  await load(withCheck(), warmupS);
  const sliceS = Math.max(2, Math.round(durationS / ROUNDS));
  const runs: { without: SecurityRun[]; with: SecurityRun[] } = { without: [], with: [] };
  for (let round = 0; round < ROUNDS; round++) {
    runs.without.push(await load(without(), sliceS));
    runs.with.push(await load(withCheck(), sliceS));
  }
  const perRound = (value: (run: SecurityRun) => number) => median(runs.with.map((run, round) => value(run) / value(runs.without[round])));
  const cost: SecurityCost = { cpuPerRequest: perRound((run) => run.cpuUsPerRequest), throughput: perRound((run) => run.requestsPerSecond) };
  return { runs: [merged(runs.without), merged(runs.with)], cost };
}

export async function benchSecurity(options: SecurityBenchOptions): Promise<SecurityBenchResult> {
  const { dir, certPath, keyPath, serverCa, durationS, warmupS, connections } = options;
  const script = path.join(__dirname, 'security-server.js');
  const server = async (child: ChildProcess, what: string): Promise<Server> => ({ port: await firstLine(child, (line) => Number(line) || undefined, what), pid: child.pid! });

  const fake = start(script, ['fake-api', dir, String(TOKENS)]);
  const { kubeconfig } = await firstLine(fake, (line) => JSON.parse(line) as { kubeconfig: string }, 'the security bench fake API server');
  const clientCa = makeTestAuthority('bench-client-ca');
  const clientCaPath = path.join(dir, 'client-ca.crt');
  writeFileSync(clientCaPath, clientCa.cert);
  const apiServerClient = issueTestClientCertificate(clientCa, { commonName: 'kube-apiserver' });

  const [open, delegated, plain, mtls] = await Promise.all([
    server(start(script, ['app', 'open', certPath, keyPath]), 'the open app'),
    server(start(script, ['app', 'delegated', certPath, keyPath, kubeconfig]), 'the delegated app'),
    server(start(script, ['app', 'plain', certPath, keyPath]), 'the plain app'),
    server(start(script, ['app', 'mtls', certPath, keyPath, clientCaPath]), 'the mTLS app'),
  ]);

  const base = { stream: 'allowed' as const, countDenials: false, connections };
  const recent = '/audit/recent?limit=10';
  // Each slice of the uncached runs starts past every token an earlier one could have sent.
  let nextToken = 1;
  const newTokens = () => {
    const from = nextToken;
    nextToken += Math.ceil(TOKENS / (2 * ROUNDS + 2));
    return { prefix: BENCH_TOKEN_PREFIX, from };
  };

  const cached = await compare(
    () => ({ ...base, ...open, name: '/audit/recent, no check', get: { path: recent, token: `${BENCH_TOKEN_PREFIX}0` } }),
    () => ({ ...base, ...delegated, name: '/audit/recent, cached token', get: { path: recent, token: `${BENCH_TOKEN_PREFIX}0` } }),
    durationS,
    warmupS,
  );
  const uncached = await compare(
    () => ({ ...base, ...open, connections: UNCACHED_CONNECTIONS, name: `/audit/recent, no check, ${UNCACHED_CONNECTIONS} conn`, get: { path: recent, tokens: newTokens() } }),
    () => ({ ...base, ...delegated, connections: UNCACHED_CONNECTIONS, name: `/audit/recent, new token, ${UNCACHED_CONNECTIONS} conn`, get: { path: recent, tokens: newTokens() } }),
    durationS,
    warmupS,
  );
  const mtlsValidate = await compare(
    () => ({ ...base, ...plain, name: '/validate, no client cert' }),
    () => ({ ...base, ...mtls, name: '/validate, mTLS', clientCertificate: apiServerClient }),
    durationS,
    warmupS,
  );

  await perHandshake(20, plain, serverCa);
  await perHandshake(20, mtls, serverCa, apiServerClient);
  const handshakes: { plain: { ms: number; cpuUs: number }; mtls: { ms: number; cpuUs: number } }[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    handshakes.push({ plain: await perHandshake(HANDSHAKES / ROUNDS, plain, serverCa), mtls: await perHandshake(HANDSHAKES / ROUNDS, mtls, serverCa, apiServerClient) });
  }

  return {
    runs: [...cached.runs, ...uncached.runs, ...mtlsValidate.runs],
    cachedToken: cached.cost,
    uncachedToken: uncached.cost,
    mtls: mtlsValidate.cost,
    mtlsHandshake: {
      cpuPerRequest: median(handshakes.map((round) => round.mtls.cpuUs / round.plain.cpuUs)),
      throughput: median(handshakes.map((round) => round.plain.ms / round.mtls.ms)),
    },
    handshakeCpuUs: { plain: mean(handshakes.map((round) => round.plain.cpuUs)), mtls: mean(handshakes.map((round) => round.mtls.cpuUs)) },
  };
}

/** The lines `npm run bench` prints for the section. */
export function securityReport(result: SecurityBenchResult): string {
  const fixed = (value: number, digits = 1) => value.toFixed(digits);
  const rows = result.runs.map(
    (run) =>
      `${run.name.padEnd(36)} ${fixed(run.requestsPerSecond, 0).padStart(7)} req/s   p50 ${fixed(run.p50Ms).padStart(5)} ms   p99 ${fixed(run.p99Ms).padStart(5)} ms   ` +
      `server CPU ${fixed(run.cpuUsPerRequest, 0).padStart(5)} us/req   failures ${run.failures}`,
  );
  const cost = (label: string, value: SecurityCost, note = '') =>
    `${label.padEnd(36)} ${fixed(value.cpuPerRequest, 2)}x the server CPU per request, ${fixed(value.throughput, 2)}x the throughput${note}`;
  return [
    'security: the same app with and without each check (medians of 3 alternating rounds)',
    ...rows,
    cost('delegated access, token cached', result.cachedToken),
    cost('delegated access, new token each', result.uncachedToken, ' (a TokenReview and a SubjectAccessReview per request, answered by another process)'),
    cost('mTLS on /validate, kept alive', result.mtls),
    cost('mTLS, new connection per request', result.mtlsHandshake, ` (${fixed(result.handshakeCpuUs.mtls, 0)} us vs ${fixed(result.handshakeCpuUs.plain, 0)} us of server CPU per handshake)`),
  ].join('\n');
}
