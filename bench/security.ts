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
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { evictionReview } from '../test/admission/reviews';
import { issueTestClientCertificate, makeTestAuthority } from '../test/helpers/tls';

export const benchToken = (index: number) => `bench-token-${index}`;

/** Enough distinct valid tokens that the uncached run never repeats one. */
const TOKENS = 200_000;
const UNCACHED_CONNECTIONS = 8;
const HANDSHAKES = 300;
/** Each comparison alternates its two targets this many times. */
const ROUNDS = 3;

interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number };
  errors: number;
  timeouts: number;
  non2xx: number;
}
type Autocannon = (options: Record<string, unknown>) => Promise<AutocannonResult>;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const autocannon = require('autocannon') as Autocannon;

export interface SecurityBenchContext {
  dir: string;
  certPath: string;
  keyPath: string;
  serverCa: string;
  durationS: number;
  warmupS: number;
  connections: number;
  /** run.ts's child starter and first-line reader, so the children are stopped with the others. */
  start(script: string, args: string[]): ChildProcess;
  firstLine<T>(child: ChildProcess, accept: (line: string) => T | undefined, what: string): Promise<T>;
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

interface Target {
  port: number;
  /** The server's process, whose CPU time is read. */
  pid: number;
  path: string;
  method?: 'GET' | 'POST';
  headers?: (index: number) => Record<string, string>;
  body?: string;
  tlsOptions?: { cert: string; key: string };
  connections: number;
}

/** USER_HZ: the unit of /proc/<pid>/stat's times, 100 on every Linux build that matters. */
const CLOCK_TICKS_PER_SECOND = 100;

/** CPU time (user + system) a process has used, in microseconds. */
function cpuUs(pid: number): number {
  // Fields after the parenthesised command name; utime and stime are fields 14 and 15 of the line.
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1_000_000) / CLOCK_TICKS_PER_SECOND;
}

async function load(name: string, target: Target, durationS: number): Promise<SecurityRun> {
  let sent = 0;
  const cpuBefore = cpuUs(target.pid);
  const result = await autocannon({
    url: `https://127.0.0.1:${target.port}`,
    connections: target.connections,
    duration: durationS,
    tlsOptions: target.tlsOptions,
    requests: [
      {
        method: target.method ?? 'GET',
        path: target.path,
        setupRequest: (request: Record<string, unknown>) => ({
          ...request,
          headers: { 'content-type': 'application/json', ...target.headers?.(sent++) },
          ...(target.body === undefined ? {} : { body: target.body }),
        }),
      },
    ],
  });
  const cpuUsPerRequest = (cpuUs(target.pid) - cpuBefore) / Math.max(1, result.requests.total);
  return { name, requestsPerSecond: result.requests.average, p50Ms: result.latency.p50, p99Ms: result.latency.p99, failures: result.errors + result.timeouts + result.non2xx, cpuUsPerRequest };
}

/** Wall and server CPU time per request over a new TLS connection each (no keep-alive, no session reuse). */
async function perHandshake(requests: number, server: { port: number; pid: number }, serverCa: string, client?: { cert: string; key: string }): Promise<{ ms: number; cpuUs: number }> {
  const { port } = server;
  const once = () =>
    new Promise<void>((resolve, reject) => {
      https
        .get({ host: '127.0.0.1', port, path: '/healthz', ca: serverCa, cert: client?.cert, key: client?.key, agent: false }, (response) => {
          response.resume();
          response.on('end', resolve);
        })
        .on('error', reject);
    });
  const started = performance.now();
  const cpuBefore = cpuUs(server.pid);
  for (let index = 0; index < requests; index++) await once();
  return { ms: (performance.now() - started) / requests, cpuUs: (cpuUs(server.pid) - cpuBefore) / requests };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const mean = (values: number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;

/** Several runs of one target as one: mean throughput and p50, worst p99, failures added up. */
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
 * from elsewhere on the machine falls on both alike; the ratio is the median of the slices' ratios.
 */
async function compare(without: Target & { name: string }, withCheck: Target & { name: string }, durationS: number, warmupS: number) {
  await load(`${without.name} (warm-up)`, without, warmupS);
  await load(`${withCheck.name} (warm-up)`, withCheck, warmupS);
  const sliceS = Math.max(2, Math.round(durationS / ROUNDS));
  const runs: { without: SecurityRun[]; with: SecurityRun[] } = { without: [], with: [] };
  for (let round = 0; round < ROUNDS; round++) {
    runs.without.push(await load(without.name, without, sliceS));
    runs.with.push(await load(withCheck.name, withCheck, sliceS));
  }
  const perRound = (value: (run: SecurityRun) => number) => median(runs.with.map((run, round) => value(run) / value(runs.without[round])));
  const cost: SecurityCost = { cpuPerRequest: perRound((run) => run.cpuUsPerRequest), throughput: perRound((run) => run.requestsPerSecond) };
  return { runs: [merged(runs.without), merged(runs.with)], cost };
}

const REVIEW = JSON.stringify(evictionReview());

export async function benchSecurity(context: SecurityBenchContext): Promise<SecurityBenchResult> {
  const { dir, certPath, keyPath, serverCa, durationS, warmupS, connections } = context;
  const script = path.join(__dirname, 'security-server.js');
  const server = async (child: ChildProcess, what: string) => ({ port: await context.firstLine(child, (line) => Number(line) || undefined, what), pid: child.pid! });

  const fake = context.start(script, ['fake-api', dir, String(TOKENS)]);
  const { kubeconfig } = await context.firstLine(fake, (line) => JSON.parse(line) as { kubeconfig: string }, 'the security bench fake API server');
  const clientCa = makeTestAuthority('bench-client-ca');
  const clientCaPath = path.join(dir, 'client-ca.crt');
  writeFileSync(clientCaPath, clientCa.cert);
  const apiServerClient = issueTestClientCertificate(clientCa, { commonName: 'kube-apiserver' });

  const [open, delegated, plain, mtls] = await Promise.all([
    server(context.start(script, ['app', 'open', certPath, keyPath]), 'the open app'),
    server(context.start(script, ['app', 'delegated', certPath, keyPath, kubeconfig]), 'the delegated app'),
    server(context.start(script, ['app', 'plain', certPath, keyPath]), 'the plain app'),
    server(context.start(script, ['app', 'mtls', certPath, keyPath, clientCaPath]), 'the mTLS app'),
  ]);

  const recent = { path: '/audit/recent?limit=10', connections };
  const oneToken = () => ({ authorization: `Bearer ${benchToken(0)}` });
  // Every request of the uncached runs, warm-up included, spends a token of its own.
  let nextToken = 1;
  const newToken = () => ({ authorization: `Bearer ${benchToken(nextToken++ % TOKENS)}` });
  const few = { ...recent, connections: UNCACHED_CONNECTIONS };
  const validate = { path: '/validate', method: 'POST' as const, body: REVIEW, connections };

  const cached = await compare({ ...recent, name: '/audit/recent, no check', ...open }, { ...recent, name: '/audit/recent, cached token', ...delegated, headers: oneToken }, durationS, warmupS);
  const uncached = await compare(
    { ...few, name: `/audit/recent, no check, ${UNCACHED_CONNECTIONS} conn`, ...open },
    { ...few, name: `/audit/recent, new token, ${UNCACHED_CONNECTIONS} conn`, ...delegated, headers: newToken },
    durationS,
    warmupS,
  );
  const mtlsValidate = await compare({ ...validate, name: '/validate, no client cert', ...plain }, { ...validate, name: '/validate, mTLS', ...mtls, tlsOptions: apiServerClient }, durationS, warmupS);

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
