// The processes of `npm run bench` and `npm run bench:profile`: the fake API server, the webhook,
// the baseline servers and the load generator each run in their own node process; this module
// starts them, waits for them, and reads what /proc says about them (memory, CPU time).
import { execFileSync, spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { openSync, readFileSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { parseAllDocuments } from 'yaml';

export const ROOT = path.resolve(__dirname, '../..');
/** What `npm run build` makes: the webhook and its dependencies in one esbuild bundle, with a source map beside it. */
export const WEBHOOK_BUNDLE = path.join(ROOT, 'dist/cli/main.js');

export const words = (text: string | undefined) => (text ?? '').split(' ').filter(Boolean);

const children: ChildProcess[] = [];

/** Stops every child the bench started; call once, when the bench ends. */
export function stopChildren(): void {
  for (const child of children) child.kill('SIGTERM');
}

export interface StartOptions {
  env?: NodeJS.ProcessEnv;
  nodeArgs?: string[];
  /** stdout goes to this file (a pipe into the bench would block a chatty child's writes when the bench is busy). */
  logFile?: string;
  /** An IPC channel to the child (the profile hooks and the load generator talk over it). */
  ipc?: boolean;
}

/** Starts a node script as a child; its stdout is piped to the bench unless `logFile` is given. */
export function start(script: string, args: string[], options: StartOptions = {}): ChildProcess {
  const stdout = options.logFile === undefined ? 'pipe' : openSync(options.logFile, 'w');
  const stdio: StdioOptions = ['ignore', stdout, 'inherit', ...(options.ipc ? ['ipc' as const] : [])];
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), script, ...args], { cwd: ROOT, env: options.env ?? process.env, stdio });
  children.push(child);
  return child;
}

/** The first stdout line that passes `accept`; later output is drained so the child never blocks on a full pipe. */
export function firstLine<T>(child: ChildProcess, accept: (line: string) => T | undefined, what: string): Promise<T> {
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

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
    probe.on('error', reject);
  });
}

/** VmRSS (now) or VmHWM (peak) of a process, in MB. */
export function memoryMb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) / 1024 : NaN;
}

/** RSS split into anonymous memory (heaps, malloc) and file-backed pages (the node binary, libraries), in MB. */
export function rssParts(pid: number): { anonymousMb: number; fileMb: number } {
  const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(rollup)?.[1] ?? NaN) / 1024;
  const anonymousMb = field('Anonymous');
  return { anonymousMb, fileMb: field('Rss') - anonymousMb };
}

let clockTicksPerSecond: number | undefined;

/** User plus system CPU time a process has used so far, in ms (/proc/PID/stat utime + stime). */
export function cpuTimeMs(pid: number): number {
  clockTicksPerSecond ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces; the fields after its closing parenthesis do not.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of the line, 12 and 13 after the state (field 3).
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / clockTicksPerSecond;
}

export function get(port: number, urlPath: string): Promise<number> {
  return new Promise((resolve) => {
    https
      .get({ host: '127.0.0.1', port, path: urlPath, rejectUnauthorized: false, agent: false }, (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      })
      .on('error', () => resolve(0));
  });
}

/** Polls GET /readyz until it answers 200; the seconds that took from `startedAt`. */
export async function waitReady(port: number, startedAt: bigint, child: ChildProcess, timeoutS = 120): Promise<number> {
  while ((await get(port, '/readyz')) !== 200) {
    if (child.exitCode !== null) throw new Error(`the webhook exited with code ${child.exitCode} before it was ready`);
    if (Number(process.hrtime.bigint() - startedAt) / 1e9 > timeoutS) throw new Error(`the webhook was not ready after ${timeoutS} s`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return Number(process.hrtime.bigint() - startedAt) / 1e9;
}

/** How the Deployment runs the webhook: the node flags of its NODE_OPTIONS and its other environment variables. */
export interface DeploymentEnvironment {
  nodeFlags: string[];
  env: Record<string, string>;
}

/**
 * The webhook container's environment in manifests/base/deployment.yaml, so that the bench
 * measures memory under the ceiling and allocator settings a cluster gives it, not friendlier ones.
 */
export function deploymentEnvironment(): DeploymentEnvironment {
  const file = path.join(ROOT, 'manifests/base/deployment.yaml');
  for (const document of parseAllDocuments(readFileSync(file, 'utf8'))) {
    const deployment = document.toJS() as { kind?: string; spec?: { template?: { spec?: { containers?: { env?: { name: string; value?: string }[] }[] } } } };
    if (deployment?.kind !== 'Deployment') continue;
    for (const container of deployment.spec?.template?.spec?.containers ?? []) {
      const variables = (container.env ?? []).filter((variable): variable is { name: string; value: string } => typeof variable.value === 'string');
      const nodeOptions = variables.find((variable) => variable.name === 'NODE_OPTIONS');
      if (nodeOptions === undefined) continue;
      const env = Object.fromEntries(variables.filter((variable) => variable !== nodeOptions).map((variable) => [variable.name, variable.value]));
      return { nodeFlags: words(nodeOptions.value), env };
    }
  }
  throw new Error(`${file} sets no NODE_OPTIONS on the webhook container`);
}

export interface FakeCluster {
  kubeconfig: string;
  pods: number;
  pdbs: number;
  loadMs: number;
  child: ChildProcess;
}

/** The fake API server holding the synthetic cluster, in its own process. */
export async function startFakeCluster(dir: string): Promise<FakeCluster> {
  const child = start(path.join(__dirname, 'fake-cluster.js'), [dir]);
  const loaded = await firstLine(child, (line) => JSON.parse(line) as Omit<FakeCluster, 'child'>, 'the fake API server');
  return { ...loaded, child };
}

export interface WebhookProcess {
  child: ChildProcess;
  port: number;
  readyS: number;
}

export interface WebhookOptions {
  kubeconfig: string;
  certPath: string;
  keyPath: string;
  /** The webhook's stdout: its log lines, as a container runtime would take them. */
  logFile: string;
  home: string;
  args?: string[];
  nodeArgs?: string[];
  /** Added to the bench's own environment. */
  env?: Record<string, string>;
  ipc?: boolean;
}

/** `eviction-guard serve` against the fake cluster, metrics on a free port; resolves once /readyz says ready. */
export async function startWebhook(options: WebhookOptions): Promise<WebhookProcess> {
  const port = await freePort();
  const startedAt = process.hrtime.bigint();
  const child = start(
    WEBHOOK_BUNDLE,
    ['serve', '--port', String(port), '--kubeconfig', options.kubeconfig, '--tls-cert', options.certPath, '--tls-key', options.keyPath, '--metrics-port', '0', ...(options.args ?? [])],
    { env: { ...process.env, ...options.env, HOME: options.home }, nodeArgs: options.nodeArgs, logFile: options.logFile, ipc: options.ipc },
  );
  const readyS = await waitReady(port, startedAt, child);
  return { child, port, readyS };
}
