// `npm run bench`, continuous PDB lint: what one lint pass of the webhook costs at 100k pods, and
// whether it changes the webhook's p99. Two webhooks serve the same cluster and the same requests
// one after the other: one with the lint off, one linting every 5 s, so that passes run during the
// measurement (at the shipped 60 s, most 10 s windows would hold none). The figures are ratios of
// the two runs, taken a minute apart on a shared machine.
import https from 'node:https';
import path from 'node:path';

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
      .get({ host: '127.0.0.1', port, path: urlPath, rejectUnauthorized: false, agent: false }, (response) => {
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
    const { body } = await getJson<PassReport>(port, '/pdb-findings');
    if (body !== undefined && Date.parse(body.lintedAt) > after) return body;
  }
  throw new Error('no continuous lint pass finished within 120 s');
}

const fixed = (value: number, digits = 1) => value.toFixed(digits);
const INTERVAL_S = 5;

export async function benchContinuousLint(bench: ContinuousLintBench): Promise<ContinuousLintResult> {
  const offLog = path.join(bench.dir, 'webhook-lint-off.log');
  const off = await bench.startWebhook(offLog, ['--pdb-lint-interval', 'off']);
  const withoutLint = await bench.measure('eviction-guard, lint off', off.port);
  const offPeakMb = bench.memoryMb(off.child.pid!, 'VmHWM');
  off.child.kill('SIGTERM');

  const onLog = path.join(bench.dir, 'webhook-lint-5s.log');
  const on = await bench.startWebhook(onLog, ['--pdb-lint-interval', String(INTERVAL_S)]);
  const first = await passAfter(on.port, 0);
  const started = Date.now();
  const withLint = await bench.measure(`eviction-guard, lint every ${INTERVAL_S} s`, on.port);
  const during = await passAfter(on.port, started);
  const onPeakMb = bench.memoryMb(on.child.pid!, 'VmHWM');
  on.child.kill('SIGTERM');

  const p99Ratio = withLint.p99Ms / withoutLint.p99Ms;
  const throughputRatio = withLint.requestsPerSecond / withoutLint.requestsPerSecond;
  const figures = {
    firstPassLintingMs: first.lintingMs,
    firstPassDurationMs: first.durationMs,
    loadedPassLintingMs: during.lintingMs,
    loadedPassDurationMs: during.durationMs,
    p99OffMs: withoutLint.p99Ms,
    p99OnMs: withLint.p99Ms,
    p99Ratio,
    throughputRatio,
    offPeakMb,
    onPeakMb,
  };
  const rows = [
    `continuous PDB lint, ${first.pdbs} PDBs (${Object.entries(first.counts).map(([severity, count]) => `${count} ${severity}`).join(', ')})`,
    `one pass, idle webhook        ${fixed(first.lintingMs)} ms linting, ${fixed(first.durationMs)} ms start to end   = ${fixed((first.lintingMs / 60_000) * 100, 2)} % of one core at the default 60 s`,
    `one pass, under load          ${fixed(during.lintingMs)} ms linting, ${fixed(during.durationMs)} ms start to end (it yields to requests between namespaces)`,
    `p99 with a pass every ${INTERVAL_S} s     ${fixed(withLint.p99Ms)} ms vs ${fixed(withoutLint.p99Ms)} ms with the lint off = ${fixed(p99Ratio, 2)}x   (throughput ${fixed(throughputRatio, 2)}x; failures ${withLint.failures}/${withoutLint.failures})`,
    `peak RSS                      ${fixed(onPeakMb)} MB vs ${fixed(offPeakMb)} MB with the lint off`,
  ];
  return { rows, figures };
}
