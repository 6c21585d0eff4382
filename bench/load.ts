// The load generator of `npm run bench`: autocannon in a child process of its own, so that neither
// the bench's event loop nor its garbage shares a thread with the requests it times. The parent
// calls runLoad(); the child (this file run as a script) drives one target and prints its result
// as one JSON line. The request streams are built in the child, one AdmissionReview per request.
import path from 'node:path';
import { evictionReview } from '../test/admission/reviews';
import { firstLine, start } from './processes';
import { BENCH_CLUSTER, isExhausted, namespaceName, podName } from './synthetic-cluster';

// autocannon ships no types; this is the part of its API the bench uses.
interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number };
  errors: number;
  timeouts: number;
  non2xx: number;
}
type Autocannon = (options: Record<string, unknown>) => Promise<AutocannonResult>;

/**
 * The request streams. 'allowed': every pod whose PDB allows a disruption, in turn, so each request
 * reads a different pod and PDB. 'mixed': every pod in turn, so a tenth hit a PDB at 0 and are
 * denied, each deny confirmed by a live read of the fake API server (which shares this machine).
 */
export type Stream = 'allowed' | 'mixed';

export interface LoadRequest {
  name: string;
  port: number;
  durationS: number;
  connections: number;
  stream: Stream;
  countDenials: boolean;
  /**
   * A GET of this path instead of the stream's POST /validate, with a bearer token: one fixed
   * token, or a new one per request, `<prefix><n>` counting up from `from` (the security bench).
   */
  get?: { path: string; token?: string; tokens?: { prefix: string; from: number } };
  /** A TLS client certificate (PEM) to present on every connection. */
  clientCertificate?: { cert: string; key: string };
}

export interface LoadResult {
  name: string;
  requestsPerSecond: number;
  /** Requests answered in the window. */
  requests: number;
  p50Ms: number;
  p99Ms: number;
  failures: number;
  /** Share of webhook answers that were denials (the rest were allowed). */
  denied?: number;
}

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

/** The API server's AdmissionReview for an eviction the cluster autoscaler asks for. */
export function admissionReview(uid: string, namespace: string, pod: string): string {
  const review = evictionReview();
  Object.assign(review.request, {
    uid,
    name: pod,
    namespace,
    userInfo: { username: 'system:serviceaccount:kube-system:cluster-autoscaler', groups: ['system:serviceaccounts', 'system:authenticated'] },
  });
  review.request.object.metadata = { name: pod, namespace };
  return JSON.stringify(review);
}

/** Drives one target from this process (the child's side). */
async function drive(request: LoadRequest): Promise<LoadResult> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const autocannon = require('autocannon') as Autocannon;
  const targets = evictionTargets(request.stream);
  let uid = 0;
  let denials = 0;
  let answers = 0;
  const review = {
    method: 'POST',
    path: '/validate',
    headers: { 'content-type': 'application/json' },
    setupRequest: (options: Record<string, unknown>) => {
      const { namespace, pod } = targets.next().value as { namespace: string; pod: string };
      return { ...options, body: admissionReview(`bench-${++uid}`, namespace, pod) };
    },
    onResponse: request.countDenials
      ? (_status: number, body: string) => {
          answers++;
          if (body.includes('"allowed":false')) denials++;
        }
      : undefined,
  };
  const { get } = request;
  let nextToken = get?.tokens?.from ?? 0;
  const bearer = () => (get?.tokens ? `${get.tokens.prefix}${nextToken++}` : get?.token);
  const read = get && { method: 'GET', path: get.path, setupRequest: (options: Record<string, unknown>) => ({ ...options, headers: { authorization: `Bearer ${bearer()}` } }) };
  const result = await autocannon({
    url: `https://127.0.0.1:${request.port}`,
    connections: request.connections,
    duration: request.durationS,
    ...(request.clientCertificate === undefined ? {} : { tlsOptions: request.clientCertificate }),
    requests: [read ?? review],
  });
  return {
    name: request.name,
    requestsPerSecond: result.requests.average,
    requests: result.requests.total,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    failures: result.errors + result.timeouts + result.non2xx,
    ...(request.countDenials ? { denied: answers > 0 ? denials / answers : 0 } : {}),
  };
}

/** Drives one target from a child process and answers what autocannon measured. */
export async function runLoad(request: LoadRequest): Promise<LoadResult> {
  const child = start(path.join(__dirname, 'load.js'), [JSON.stringify(request)]);
  return firstLine(child, (line) => JSON.parse(line) as LoadResult, `the load generator for ${request.name}`);
}

if (require.main === module) {
  drive(JSON.parse(process.argv[2]) as LoadRequest).then(
    (result) => process.stdout.write(`${JSON.stringify(result)}\n`),
    (error: unknown) => {
      process.stderr.write(`load generator failed: ${error instanceof Error ? error.stack : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
