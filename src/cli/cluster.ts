// Which cluster a command reads, the same way for every command: --snapshot FILE, else
// --kubeconfig / in-cluster / $KUBECONFIG / ~/.kube/config, else the built-in demo cluster.
import { Writable } from 'node:stream';
import { createLogger, type LogLevel, type Logger } from '../audit/logger';
import { resolveKubeConfig } from '../cluster/kubeconfig';
import { LiveClusterView, type ClusterHooks } from '../cluster/live';
import { demoClusterView, SnapshotClusterView } from '../cluster/snapshot';
import type { ClusterView } from '../cluster/view';

export interface ClusterChoice {
  kubeconfig?: string;
  snapshot?: string;
}

export function openCluster(choice: ClusterChoice, logger: Logger, hooks?: ClusterHooks): ClusterView {
  if (choice.snapshot !== undefined) {
    logger.info({ snapshot: choice.snapshot }, 'reading cluster state from a snapshot file');
    return SnapshotClusterView.fromFile(choice.snapshot, 'snapshot');
  }
  const kubeConfig = resolveKubeConfig(choice.kubeconfig);
  if (kubeConfig !== undefined) {
    logger.info({ cluster: kubeConfig.getCurrentCluster()?.server }, 'watching the cluster');
    return new LiveClusterView(kubeConfig, { logger, hooks });
  }
  logger.warn(
    'DEMO MODE: no kubeconfig, in-cluster config or --snapshot was found, so the built-in demo cluster is used. ' +
      'Answers describe demo pods, not a real cluster.',
  );
  return demoClusterView();
}

/** How reports name the cluster a command read: the snapshot file, "the demo cluster" or "the cluster". */
export function clusterSourceName(view: ClusterView, choice: ClusterChoice): string {
  switch (view.status().mode) {
    case 'snapshot':
      return choice.snapshot ?? 'a snapshot';
    case 'demo':
      return 'the demo cluster';
    case 'live':
      return 'the cluster';
  }
}

/** Polls `done` every 50 ms: true once it holds, false when timeoutMs passes first. */
export async function pollUntil(done: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return true;
}

/** Resolves once every watched resource is listed; rejects after timeoutMs naming what is not. */
export async function waitForSync(view: ClusterView, timeoutMs: number): Promise<void> {
  if (await pollUntil(() => view.isSynced(), timeoutMs)) return;
  const pending = view
    .status()
    .resources.filter((resource) => !resource.synced)
    .map((resource) => `${resource.resource}${resource.lastError ? ` (${resource.lastError})` : ''}`);
  throw new Error(`the cluster could not be read within ${timeoutMs / 1000}s: not listed yet: ${pending.join(', ')}`);
}

/** Opens the cluster `choice` names, waits until it is listed, runs `use` on it, and stops it. */
export async function withSyncedCluster<T>(choice: ClusterChoice, timeoutMs: number, logger: Logger, use: (view: ClusterView) => Promise<T>): Promise<T> {
  const view = openCluster(choice, logger);
  try {
    await view.start();
    await waitForSync(view, timeoutMs);
    return await use(view);
  } finally {
    await view.stop();
  }
}

/**
 * The log of a one-shot command (check, lint): plain "eviction-guard: warn: ..." lines on stderr,
 * so that stdout holds only the report a script parses.
 */
export function cliLogger(level: LogLevel, command: string, stderr: NodeJS.WritableStream = process.stderr): Logger {
  const lines = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line === '') continue;
        const { level: number, msg, time: _time, app: _app, ...details } = JSON.parse(line) as Record<string, unknown>;
        const levelName = LEVEL_NAMES[number as number] ?? String(number);
        const extra = Object.keys(details).length > 0 ? ` ${JSON.stringify(details)}` : '';
        stderr.write(`eviction-guard ${command}: ${levelName}: ${String(msg)}${extra}\n`);
      }
      done();
    },
  });
  return createLogger(level, lines);
}

const LEVEL_NAMES: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warning', 50: 'error', 60: 'fatal' };
