import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { auditRecord } from '../audit/record';
import { createLogger, LOG_LEVELS, type LogLevel, type Logger } from '../audit/logger';
import { ensureSelfSignedPair } from '../certs/selfsigned';
import { resolveKubeConfig } from '../cluster/kubeconfig';
import { LiveClusterView } from '../cluster/live';
import { demoClusterView, SnapshotClusterView } from '../cluster/snapshot';
import type { ClusterView } from '../cluster/view';
import { evaluateEviction } from '../evaluate';
import { createApp } from '../server/app';
import { startHttpsServer, type HttpsServerHandle } from '../server/https';
import { parseFlags, parsePort, UsageError } from './usage';

export const SERVE_USAGE = `Usage: eviction-guard serve [flags]

Runs the validating admission webhook for CREATE pods/eviction over HTTPS (TLS 1.2+).

Flags:
  --port N              HTTPS port (default 8443; 0 picks a free port)
  --tls-cert FILE       PEM serving certificate (with --tls-key)
  --tls-key FILE        PEM private key (with --tls-cert)
                        Without both, a self-signed pair is generated into certs/ and reused.
  --kubeconfig FILE     kubeconfig to watch the cluster through. Without it: in-cluster config,
                        then $KUBECONFIG or ~/.kube/config.
  --snapshot FILE       serve decisions from a YAML/JSON file instead of a cluster, e.g. the output
                        of: kubectl get pods,pdb,rs,deploy,sts,ns -A -o yaml
                        With neither a cluster nor a snapshot, the built-in demo cluster is served.
  --log-level LEVEL     ${LOG_LEVELS.join('|')} (default info)
  -h, --help            show this help`;

const SHUTDOWN_GRACE_MS = 10_000;

export interface ServeOptions {
  port: number;
  tlsCert?: string;
  tlsKey?: string;
  kubeconfig?: string;
  snapshot?: string;
  logLevel: LogLevel;
  /** Where a self-signed pair is written when no cert is given. */
  certDir: string;
}

export function parseServeOptions(argv: string[]): ServeOptions | 'help' {
  const { values } = parseFlags(
    argv,
    {
      port: { type: 'string' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      kubeconfig: { type: 'string' },
      snapshot: { type: 'string' },
      'log-level': { type: 'string' },
    },
    SERVE_USAGE,
  );
  if (values.help) return 'help';
  const tlsCert = values['tls-cert'] as string | undefined;
  const tlsKey = values['tls-key'] as string | undefined;
  if ((tlsCert === undefined) !== (tlsKey === undefined)) {
    throw new UsageError('--tls-cert and --tls-key go together: give both or neither', SERVE_USAGE);
  }
  if (values.kubeconfig !== undefined && values.snapshot !== undefined) {
    throw new UsageError('--kubeconfig and --snapshot are alternatives: give one', SERVE_USAGE);
  }
  const logLevel = (values['log-level'] ?? 'info') as string;
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')}, got "${logLevel}"`, SERVE_USAGE);
  }
  return {
    port: parsePort(values.port as string | undefined, 8443, '--port', SERVE_USAGE),
    tlsCert,
    tlsKey,
    kubeconfig: values.kubeconfig as string | undefined,
    snapshot: values.snapshot as string | undefined,
    logLevel: logLevel as LogLevel,
    certDir: path.resolve('certs'),
  };
}

function chooseCluster(options: ServeOptions, logger: Logger): ClusterView {
  if (options.snapshot !== undefined) {
    logger.info({ snapshot: options.snapshot }, 'serving decisions from a snapshot file');
    return SnapshotClusterView.fromFile(options.snapshot, 'snapshot');
  }
  const kubeConfig = resolveKubeConfig(options.kubeconfig);
  if (kubeConfig !== undefined) {
    logger.info({ cluster: kubeConfig.getCurrentCluster()?.server }, 'watching the cluster');
    return new LiveClusterView(kubeConfig, { logger });
  }
  logger.warn(
    'DEMO MODE: no kubeconfig, in-cluster config or --snapshot was found, so the built-in demo cluster is served. ' +
      'Decisions describe demo pods, not a real cluster.',
  );
  return demoClusterView();
}

function loadServingPair(options: ServeOptions, logger: Logger): { cert: string; key: string } {
  if (options.tlsCert !== undefined && options.tlsKey !== undefined) {
    return { cert: readFileSync(options.tlsCert, 'utf8'), key: readFileSync(options.tlsKey, 'utf8') };
  }
  const pair = ensureSelfSignedPair(options.certDir, [os.hostname()]);
  logger.warn(
    { cert: pair.certPath, key: pair.keyPath, generated: pair.generated },
    pair.generated
      ? 'no --tls-cert/--tls-key given: generated a self-signed serving pair (not for production)'
      : 'no --tls-cert/--tls-key given: reusing the self-signed serving pair (not for production)',
  );
  return { cert: readFileSync(pair.certPath, 'utf8'), key: readFileSync(pair.keyPath, 'utf8') };
}

export interface RunningWebhook {
  port: number;
  cluster: ClusterView;
  logger: Logger;
  /** Graceful shutdown: stop accepting, finish in-flight requests, stop the watches. */
  close(): Promise<void>;
}

/** Start the webhook; used by `serve` and by the end-to-end tests. */
export async function startWebhook(options: ServeOptions, logger = createLogger(options.logLevel), cluster?: ClusterView): Promise<RunningWebhook> {
  const view = cluster ?? chooseCluster(options, logger);
  const { cert, key } = loadServingPair(options, logger);
  const app = createApp({
    logger,
    isReady: () => view.isSynced(),
    readyDetails: () => view.status(),
    handleEviction: async (attempt) => {
      const { verdict, context } = await evaluateEviction(attempt, view);
      logger.info({ audit: auditRecord(attempt, verdict, context) }, verdict.allowed ? 'eviction allowed' : 'eviction denied');
      return verdict;
    },
  });
  await view.start();
  let server: HttpsServerHandle;
  try {
    server = await startHttpsServer({ app, port: options.port, cert, key });
  } catch (error) {
    await view.stop();
    throw error;
  }
  logger.info({ port: server.port, mode: view.status().mode }, 'eviction-guard webhook listening (HTTPS, POST /validate)');
  return {
    port: server.port,
    cluster: view,
    logger,
    close: async () => {
      await server.close(SHUTDOWN_GRACE_MS);
      await view.stop();
    },
  };
}

export async function runServe(argv: string[]): Promise<number> {
  const options = parseServeOptions(argv);
  if (options === 'help') {
    process.stdout.write(`${SERVE_USAGE}\n`);
    return 0;
  }
  const webhook = await startWebhook(options);
  return new Promise<number>((resolve) => {
    let stopping = false;
    const shutdown = (signal: string) => {
      if (stopping) {
        webhook.logger.warn({ signal }, 'second signal: exiting now');
        process.exit(1);
      }
      stopping = true;
      webhook.logger.info({ signal }, 'shutting down: no new connections, finishing in-flight requests');
      webhook.close().then(
        () => {
          webhook.logger.info('stopped');
          resolve(0);
        },
        (error: unknown) => {
          webhook.logger.error({ err: error }, 'shutdown failed');
          resolve(1);
        },
      );
    };
    process.once('SIGTERM', () => shutdown('SIGTERM'));
    process.once('SIGINT', () => shutdown('SIGINT'));
  });
}
