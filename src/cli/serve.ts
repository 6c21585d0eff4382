import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createLogger, LOG_LEVELS, type LogLevel, type Logger } from '../audit/logger';
import { ensureSelfSignedPair } from '../certs/selfsigned';
import { LiveClusterView } from '../cluster/live';
import type { ClusterView } from '../cluster/view';
import { evaluateEviction } from '../evaluate';
import { ENFORCEMENT_MODES, type EnforcementMode } from '../policy/engine';
import { startPolicyService } from '../policy/service';
import type { DecodedPdbChange } from '../admission/decode';
import type { Verdict } from '../domain';
import { PDB_GUARD_MODES, reviewPdbChange, type PdbGuardMode } from '../guard/pdb-guard';
import { createApp, type AppDeps } from '../server/app';
import { startHttpsServer, type HttpsServerHandle } from '../server/https';
import type { ServingCertificate } from '../server/serving-pair';
import { watchServingPair, type ServingPairWatchOptions } from '../server/tls-reloader';
import { openCluster } from './cluster';
import { createPdbHealth, parsePdbHealthOptions, PDB_HEALTH_FLAGS, PDB_HEALTH_USAGE, type PdbHealthServeOptions } from './pdb-health';
import { createObservability, OBSERVABILITY_FLAGS, OBSERVABILITY_USAGE, parseObservabilityOptions, type ObservabilityOptions } from './observability';
import { usageAs } from './program';
import { parseReservationOptions, RESERVATION_FLAGS, RESERVATION_USAGE, startReservations, type ReservationOptions } from './reservations';
import { createSecurity, parseSecurityOptions, readClientCa, SECURITY_FLAGS, SECURITY_USAGE, type SecurityOptions } from './security';
import { parseChoice, parseFlags, parsePort, UsageError } from './usage';

export const SERVE_USAGE = `Usage: eviction-guard serve [flags]

Runs the validating admission webhook for CREATE pods/eviction over HTTPS (TLS 1.2+).

Flags:
  --port N              HTTPS port (default 8443; 0 picks a free port)
  --tls-cert FILE       PEM serving certificate (with --tls-key)
  --tls-key FILE        PEM private key (with --tls-cert)
                        Without both: the pair "eviction-guard certs" wrote into certs/ if there is
                        one (certs/ca.crt exists), else a self-signed pair generated into certs/.
                        The pair's directory is watched: a new pair (e.g. a renewed Secret) is
                        checked and used for new connections without a restart.
  --kubeconfig FILE     kubeconfig to watch the cluster through. Without it: in-cluster config,
                        then $KUBECONFIG or ~/.kube/config.
  --snapshot FILE       serve decisions from a YAML/JSON file instead of a cluster, e.g. the output
                        of: kubectl get pods,pdb,rs,deploy,sts,ns,nodes -A -o yaml
                        With neither a cluster nor a snapshot, the built-in demo cluster is served.
  --policy PATH         EvictionPolicy YAML/JSON file, or a folder of them; repeatable. Reloaded when
                        it changes. In a cluster, EvictionPolicy objects are watched as well.
  --mode MODE           ${ENFORCEMENT_MODES.join('|')} (default enforce): the strongest action policies
                        take; warn and audit turn policy denials into warnings or audit records
                        (PDB checks still mirror the API server)
  --pdb-guard MODE      ${PDB_GUARD_MODES.join('|')} (default warn): what the PDB admission guard does with a
                        PodDisruptionBudget CREATE/UPDATE that overlaps another PDB on existing pods or
                        can never allow a disruption
${RESERVATION_USAGE}
${SECURITY_USAGE}
${OBSERVABILITY_USAGE}
${PDB_HEALTH_USAGE}
  --log-level LEVEL     ${LOG_LEVELS.join('|')} (default info)
  -h, --help            show this help`;

const SHUTDOWN_GRACE_MS = 10_000;

export interface ServeOptions extends ObservabilityOptions, ReservationOptions, PdbHealthServeOptions, SecurityOptions {
  port: number;
  tlsCert?: string;
  tlsKey?: string;
  kubeconfig?: string;
  snapshot?: string;
  /** `--policy` files and folders (default none). */
  policies?: string[];
  /** `--mode` (default enforce). */
  mode?: EnforcementMode;
  /** `--pdb-guard` (default warn). */
  pdbGuard?: PdbGuardMode;
  logLevel: LogLevel;
  /** Where a self-signed pair is written when no cert is given. */
  certDir: string;
  /** Tuning of the serving pair watch (tests); not a flag. */
  tlsReload?: Pick<ServingPairWatchOptions, 'pollIntervalMs' | 'debounceMs' | 'retryDelayMs' | 'attempts'>;
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
      policy: { type: 'string', multiple: true },
      mode: { type: 'string' },
      'pdb-guard': { type: 'string' },
      'log-level': { type: 'string' },
      ...SECURITY_FLAGS,
      ...OBSERVABILITY_FLAGS,
      ...RESERVATION_FLAGS,
      ...PDB_HEALTH_FLAGS,
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
  return {
    port: parsePort(values.port as string | undefined, 8443, '--port', SERVE_USAGE),
    tlsCert,
    tlsKey,
    kubeconfig: values.kubeconfig as string | undefined,
    snapshot: values.snapshot as string | undefined,
    policies: (values.policy as string[] | undefined) ?? [],
    mode: parseChoice(values.mode, 'enforce', ENFORCEMENT_MODES, '--mode', SERVE_USAGE),
    pdbGuard: parseChoice(values['pdb-guard'], 'warn', PDB_GUARD_MODES, '--pdb-guard', SERVE_USAGE),
    logLevel: parseChoice(values['log-level'], 'info', LOG_LEVELS, '--log-level', SERVE_USAGE),
    certDir: path.resolve('certs'),
    ...parseSecurityOptions(values, SERVE_USAGE),
    ...parseObservabilityOptions(values, SERVE_USAGE),
    ...parseReservationOptions(values, SERVE_USAGE),
    ...parsePdbHealthOptions(values, SERVE_USAGE),
  };
}

function pdbGuardHandler(mode: PdbGuardMode, view: ClusterView, record: (change: DecodedPdbChange, verdict: Verdict) => void): AppDeps['handlePdbChange'] {
  if (mode === 'off') return undefined;
  return async (change) => {
    const verdict = reviewPdbChange(change, view, mode);
    record(change, verdict);
    return verdict;
  };
}

interface LoadedPair {
  cert: string;
  key: string;
  certPath: string;
  keyPath: string;
}

function loadServingPair(options: Pick<ServeOptions, 'tlsCert' | 'tlsKey' | 'certDir'>, logger: Logger): LoadedPair {
  if (options.tlsCert !== undefined && options.tlsKey !== undefined) {
    return readPair(options.tlsCert, options.tlsKey);
  }
  // `eviction-guard certs` writes ca.crt next to its pair (by default into certs/ as well): use that
  // pair as it is rather than replacing it with a self-signed one that does not chain to the CA.
  if (existsSync(path.join(options.certDir, 'ca.crt'))) {
    const certPath = path.join(options.certDir, 'tls.crt');
    const keyPath = path.join(options.certDir, 'tls.key');
    try {
      const pair = readPair(certPath, keyPath);
      logger.info({ cert: certPath, key: keyPath }, 'no --tls-cert/--tls-key given: serving the pair "eviction-guard certs" wrote');
      return pair;
    } catch (error) {
      throw new Error(
        `${options.certDir} holds ca.crt from "eviction-guard certs" but no readable tls.crt/tls.key ` +
          `(${error instanceof Error ? error.message : String(error)}): run "eviction-guard certs" again or pass --tls-cert/--tls-key`,
        { cause: error },
      );
    }
  }
  const pair = ensureSelfSignedPair(options.certDir, [os.hostname()]);
  logger.warn(
    { cert: pair.certPath, key: pair.keyPath, generated: pair.generated },
    pair.generated
      ? 'no --tls-cert/--tls-key given: generated a self-signed serving pair (not for production)'
      : 'no --tls-cert/--tls-key given: reusing the self-signed serving pair (not for production)',
  );
  return readPair(pair.certPath, pair.keyPath);
}

function readPair(certPath: string, keyPath: string): LoadedPair {
  return { cert: readFileSync(certPath, 'utf8'), key: readFileSync(keyPath, 'utf8'), certPath, keyPath };
}

export interface RunningWebhook {
  port: number;
  /** The bound metrics port; undefined when there is no metrics listener. */
  metricsPort?: number;
  cluster: ClusterView;
  logger: Logger;
  /** The serving certificate new connections get (it changes when the pair's files do). */
  certificate(): ServingCertificate;
  /** Graceful shutdown: stop accepting, finish in-flight requests, stop the watches. */
  close(): Promise<void>;
}

/** Start the webhook; used by `serve` and by the end-to-end tests. */
export async function startWebhook(options: ServeOptions, logger = createLogger(options.logLevel), cluster?: ClusterView): Promise<RunningWebhook> {
  const observability = createObservability(options, logger);
  const pdbHealth = createPdbHealth(options, observability.metrics, logger);
  const view = cluster ?? openCluster(options, logger, { ...observability.clusterHooks, ...pdbHealth?.clusterHooks });
  const pair = loadServingPair(options, logger);
  const clientCa = options.clientCa === undefined ? undefined : readClientCa(options.clientCa);
  const security = createSecurity(options, { view, metrics: observability.metrics, logger });
  observability.guardSideEffects(security.sideEffects);
  const policies = startPolicyService({
    paths: options.policies ?? [],
    mode: options.mode ?? 'enforce',
    kubeConfig: view instanceof LiveClusterView ? view.kubeConfig : undefined,
    logger,
    hooks: observability.clusterHooks,
  });
  const reservations = startReservations(options, view, logger);
  const app = createApp({
    logger,
    isReady: () => view.isSynced(),
    readyDetails: () => ({ ...view.status(), policies: policies.status() }),
    auditRecent: observability.auditRecent,
    pdbFindings: pdbHealth?.handler,
    verifyCaller: security.verifyCaller,
    operatorAccess: security.operatorAccess,
    handleEviction: async (attempt, origin) => {
      const { verdict, context } = await evaluateEviction(attempt, view, policies.evaluate, {
        reserver: reservations.reserver,
        mayReserve: (pod) => security.sideEffects.mayWrite('reservation', attempt, pod.uid, origin),
      });
      observability.trail.record(attempt, verdict, { ...context, origin });
      return verdict;
    },
    handlePdbChange: pdbGuardHandler(options.pdbGuard ?? 'warn', view, (change, verdict) => observability.trail.recordPdbChange(change, verdict)),
  });
  await view.start();
  let server: HttpsServerHandle;
  try {
    server = await startHttpsServer({ app, port: options.port, cert: pair.cert, key: pair.key, clientCa });
  } catch (error) {
    reservations.close();
    security.close();
    await Promise.all([view.stop(), policies.close(), observability.close()]);
    throw error;
  }
  try {
    await observability.start(view, server.certificate());
  } catch (error) {
    reservations.close();
    security.close();
    await Promise.all([server.close(0), view.stop(), policies.close(), observability.close()]);
    throw error;
  }
  pdbHealth?.start(view);
  const watcher = watchServingPair({
    ...options.tlsReload,
    certPath: pair.certPath,
    keyPath: pair.keyPath,
    clientCaPath: options.clientCa,
    target: observability.servingPairTarget(server),
    logger,
    current: { ...pair, clientCa },
  });
  const certificate = server.certificate();
  logger.info(
    { port: server.port, mode: view.status().mode, certificate: { notAfter: certificate.notAfter.toISOString(), fingerprint256: certificate.fingerprint256 } },
    'eviction-guard webhook listening (HTTPS, POST /validate)',
  );
  if (certificate.notAfter.getTime() <= Date.now()) {
    logger.warn({ cert: pair.certPath, notAfter: certificate.notAfter.toISOString() }, 'the serving certificate has expired: clients will refuse it until the files are renewed');
  }
  return {
    port: server.port,
    metricsPort: observability.metricsPort(),
    cluster: view,
    logger,
    certificate: () => server.certificate(),
    close: async () => {
      watcher.close();
      await server.close(SHUTDOWN_GRACE_MS);
      security.close();
      // After the server: every answered request has written its audit line by now.
      reservations.close();
      await Promise.all([pdbHealth?.close(), view.stop(), policies.close(), observability.close()]);
    },
  };
}

export async function runServe(argv: string[]): Promise<number> {
  const options = parseServeOptions(argv);
  if (options === 'help') {
    process.stdout.write(`${usageAs(SERVE_USAGE)}\n`);
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
