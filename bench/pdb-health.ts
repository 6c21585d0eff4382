// `npm run bench`, continuous PDB lint: what one lint pass of the webhook costs at 100k pods, and
// whether it changes the webhook's p99. Two webhooks serve the same cluster and the same requests:
// one with the lint off, one linting every 5 s, so that passes run during its measurement (at the
// shipped 60 s, most 10 s windows would hold none). They are driven in turn, three rounds each, and
// the figures are the medians of the rounds' ratios: the machine is shared, and only ratios taken
// side by side mean anything.
import https from 'node:https';
import path from 'node:path';

/** The token the bench reads /pdb-findings, an operator route, with; bench/fake-cluster.ts makes the fake API server's TokenReview know it. */
export const BENCH_OPERATOR_TOKEN = 'bench-operator-token';

interface LoadResult {
  requestsPerSecond: number;
  p99Ms: number;
  failures: number;
}

export interface ContinuousLintBench {
  dir: string;
  startWebhook(logFile: string, extraArgs: string[]): Promise<{ child: { pid?: number; kill(signal: NodeJS.Signals): boolean }; port: number }>;
  measure(name: string, port: number): Promise<LoadResult>;
  memoryMb(pid: number, field: 'VmRSS' | 'VmHWM'): number;
}

export interface ContinuousLintResult {
  rows: string[];
  figures: Record<string, number>;
}

function getJson<T>(port: number, urlPath: string): Promise<{ status: number; body: T | undefined }> {
  return new Promise((resolve) => {
    https
      // /pdb-findings is an operator route: the webhook asks the API server whether the token may read it.
      .get({ host: '127.0.0.1', port, path: urlPath, rejectUnauthorized: false, agent: false, headers: { authorization: `Bearer ${BENCH_OPERATOR_TOKEN}` } }, (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: response.statusCode === 200 ? (JSON.parse(text) as T) : undefined }));
      })
      .on('error', () => resolve({ status: 0, body: undefined }));
  });
}

interface PassReport {
  lintedAt: string;
  lintingMs: number;
  durationMs: number;
  pdbs: number;
  counts: Record<string, number>;
}

/** The last pass that finished after `after`, waiting for one. */
async function passAfter(port: number, after: number): Promise<PassReport> {
  for (const deadline = Date.now() + 120_000; Date.now() < deadline; await new Promise((resolve) => setTimeout(resolve, 100))) {
    const { status, body } = await getJson<PassReport>(port, '/pdb-findings');
    if (status === 401 || status === 403) throw new Error(`/pdb-findings answered ${status}: the bench's operator token was refused`);
    if (body !== undefined && Date.parse(body.lintedAt) > after) return body;
  }
  throw new Error('no continuous lint pass finished within 120 s');
}

const fixed = (value: number, digits = 1) => value.toFixed(digits);
const INTERVAL_S = 5;
const ROUNDS = 3;

export async function benchContinuousLint(bench: ContinuousLintBench): Promise<ContinuousLintResult> {
  const off = await bench.startWebhook(path.join(bench.dir, 'webhook-lint-off.log'), ['--pdb-lint-interval', 'off']);
  const on = await bench.startWebhook(path.join(bench.dir, `webhook-lint-${INTERVAL_S}s.log`), ['--pdb-lint-interval', String(INTERVAL_S)]);
  const first = await passAfter(on.port, 0);
  // Interleaved rounds: whatever else the shared machine runs weighs on both alike.
  const rounds: { off: LoadResult; on: LoadResult }[] = [];
  const started = Date.now();
  for (let round = 0; round < ROUNDS; round++) {
    rounds.push({ off: await bench.measure('eviction-guard, lint off', off.port), on: await bench.measure(`eviction-guard, lint every ${INTERVAL_S} s`, on.port) });
  }
  const during = await passAfter(on.port, started);
  const offPeakMb = bench.memoryMb(off.child.pid!, 'VmHWM');
  const onPeakMb = bench.memoryMb(on.child.pid!, 'VmHWM');
  off.child.kill('SIGTERM');
  on.child.kill('SIGTERM');

  const p99Ratios = rounds.map((round) => round.on.p99Ms / round.off.p99Ms);
  const throughputRatios = rounds.map((round) => round.on.requestsPerSecond / round.off.requestsPerSecond);
  const figures = {
    firstPassLintingMs: first.lintingMs,
    firstPassDurationMs: first.durationMs,
    loadedPassLintingMs: during.lintingMs,
    loadedPassDurationMs: during.durationMs,
    p99Ratio: median(p99Ratios),
    throughputRatio: median(throughputRatios),
    offPeakMb,
    onPeakMb,
  };
  const perRound = rounds.map((round) => `${fixed(round.on.p99Ms, 0)}/${fixed(round.off.p99Ms, 0)} ms`).join(', ');
  const rows = [
    `continuous PDB lint, ${first.pdbs} PDBs (${Object.entries(first.counts).map(([severity, count]) => `${count} ${severity}`).join(', ')})`,
    `one pass, idle webhook        ${fixed(first.lintingMs)} ms linting, ${fixed(first.durationMs)} ms start to end   = ${fixed((first.lintingMs / 60_000) * 100, 2)} % of one core at the default 60 s`,
    `one pass, under load          ${fixed(during.lintingMs)} ms linting, ${fixed(during.durationMs)} ms start to end (it yields to requests between namespaces)`,
    `p99, lint every ${INTERVAL_S} s vs off   ${fixed(figures.p99Ratio, 2)}x (median of ${ROUNDS} interleaved rounds: ${perRound})`,
    `throughput, lint vs off       ${fixed(figures.throughputRatio, 2)}x (median; failures ${rounds.reduce((sum, round) => sum + round.on.failures, 0)}/${rounds.reduce((sum, round) => sum + round.off.failures, 0)})`,
    `peak RSS                      ${fixed(onPeakMb)} MB with the lint, ${fixed(offPeakMb)} MB without`,
  ];
  return { rows, figures };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}
