// The `serve` flags and wiring of metrics, Kubernetes Events and the audit trail, kept apart from
// serve.ts so that the webhook's start-up reads as a sequence of steps.
import type { RequestHandler } from 'express';
import { AuditFile, DEFAULT_AUDIT_FILE_KEEP, DEFAULT_AUDIT_FILE_MAX_BYTES } from '../audit/audit-file';
import { DenialMetrics } from '../audit/denial-metrics';
import { EventRecorder, EVENTS_MODES, kubeEventApi, type EventRecorderOptions, type EventsMode } from '../audit/events';
import type { Logger } from '../audit/logger';
import { WebhookMetrics } from '../audit/metrics';
import { DEFAULT_RECENT_CAPACITY, MAX_RECENT_CAPACITY, RecentDecisions, recentDecisionsHandler } from '../audit/recent';
import { DecisionTrail, type DecisionTrailSinks } from '../audit/trail';
import { LiveClusterView } from '../cluster/live';
import type { ReflectorEvents } from '../cluster/reflector';
import type { ClusterView } from '../cluster/view';
import { startMetricsServer, type MetricsServerHandle } from '../server/metrics-server';
import type { ServingCertificate } from '../server/serving-pair';
import type { ServingPairTarget } from '../server/tls-reloader';
import type { SideEffectGuard } from '../security/side-effects';
import { parseChoice, parsePort, UsageError } from './usage';

export const DEFAULT_METRICS_PORT = 9090;
export const DEFAULT_METRICS_ADDRESS = '0.0.0.0';
/** Smaller files would rotate at every line or two. */
const MIN_AUDIT_FILE_MAX_BYTES = 1024;

export const OBSERVABILITY_USAGE = `  --metrics-port N|off  plain-HTTP port of GET /metrics for Prometheus (default ${DEFAULT_METRICS_PORT}; 0 picks
                        a free port; off: no metrics listener)
  --metrics-address IP  address the metrics listener binds (default ${DEFAULT_METRICS_ADDRESS})
  --events MODE         ${EVENTS_MODES.join('|')} (default deny): Kubernetes Events on the pod for denials
                        (EvictionDenied), all decisions, or none; never for dry runs; live mode only
  --audit-file PATH     also append the audit trail to PATH as JSON lines (one per decision)
  --audit-file-max-bytes N
                        rotate the audit file before it grows past N bytes (default ${DEFAULT_AUDIT_FILE_MAX_BYTES})
  --audit-file-keep N   rotated audit files kept: PATH.1 (newest) … PATH.N (default ${DEFAULT_AUDIT_FILE_KEEP})
  --audit-recent N      decisions kept in memory for GET /audit/recent on the HTTPS port (default
                        ${DEFAULT_RECENT_CAPACITY}; 0: no /audit/recent)`;

/** parseFlags() options of the flags above. */
export const OBSERVABILITY_FLAGS = {
  'metrics-port': { type: 'string' },
  'metrics-address': { type: 'string' },
  events: { type: 'string' },
  'audit-file': { type: 'string' },
  'audit-file-max-bytes': { type: 'string' },
  'audit-file-keep': { type: 'string' },
  'audit-recent': { type: 'string' },
} as const;

/**
 * What ServeOptions carries for metrics, Events and the audit trail. A field left out turns its
 * feature off (no metrics listener, no Events), except auditRecent; the flags' defaults are
 * filled in by parseObservabilityOptions, so `serve` has them on and embedders (tests) opt in.
 */
export interface ObservabilityOptions {
  /** `--metrics-port` (flag default 9090). */
  metricsPort?: number | 'off';
  /** `--metrics-address` (default 0.0.0.0). */
  metricsAddress?: string;
  /** `--events` (flag default deny). */
  events?: EventsMode;
  /** Tuning of Event deduplication (tests); not a flag. */
  eventTuning?: Pick<EventRecorderOptions, 'dedupeWindowMs' | 'patchIntervalMs' | 'queueSize'>;
  auditFile?: string;
  auditFileMaxBytes?: number;
  auditFileKeep?: number;
  /** `--audit-recent` (default 1000; 0: no /audit/recent). */
  auditRecent?: number;
}

function parseCount(value: string | undefined, fallback: number, flag: string, min: number, max: number, usage: string): number {
  if (value === undefined) return fallback;
  const count = /^[0-9]+$/.test(value) ? Number(value) : NaN;
  if (!(count >= min && count <= max)) throw new UsageError(`${flag} must be a whole number from ${min} to ${max}, got "${value}"`, usage);
  return count;
}

export function parseObservabilityOptions(values: Record<string, unknown>, usage: string): ObservabilityOptions {
  const text = (name: keyof typeof OBSERVABILITY_FLAGS) => values[name] as string | undefined;
  const metricsPortFlag = text('metrics-port');
  const metricsPort = metricsPortFlag === 'off' ? 'off' : parsePort(metricsPortFlag, DEFAULT_METRICS_PORT, '--metrics-port', usage);
  const events = parseChoice<EventsMode>(text('events'), 'deny', EVENTS_MODES, '--events', usage);
  const auditFile = text('audit-file');
  if (auditFile === '') throw new UsageError('--audit-file needs a path', usage);
  for (const flag of ['audit-file-max-bytes', 'audit-file-keep'] as const) {
    if (auditFile === undefined && text(flag) !== undefined) throw new UsageError(`--${flag} needs --audit-file`, usage);
  }
  const metricsAddress = text('metrics-address') ?? DEFAULT_METRICS_ADDRESS;
  if (metricsAddress === '') throw new UsageError('--metrics-address needs an address, e.g. 0.0.0.0 or 127.0.0.1', usage);
  return {
    metricsPort,
    metricsAddress,
    events,
    auditFile,
    auditFileMaxBytes: parseCount(text('audit-file-max-bytes'), DEFAULT_AUDIT_FILE_MAX_BYTES, '--audit-file-max-bytes', MIN_AUDIT_FILE_MAX_BYTES, Number.MAX_SAFE_INTEGER, usage),
    auditFileKeep: parseCount(text('audit-file-keep'), DEFAULT_AUDIT_FILE_KEEP, '--audit-file-keep', 1, 1000, usage),
    auditRecent: parseCount(text('audit-recent'), DEFAULT_RECENT_CAPACITY, '--audit-recent', 0, MAX_RECENT_CAPACITY, usage),
  };
}

export interface Observability {
  metrics: WebhookMetrics;
  /** Audits each answered eviction. */
  trail: DecisionTrail;
  /** For the cluster's and the policies' watches: counts restarts. */
  clusterHooks: ReflectorEvents;
  /** GET /audit/recent; undefined when --audit-recent is 0. */
  auditRecent: RequestHandler | undefined;
  /** The bound metrics port, once start() has run; undefined when off. */
  metricsPort(): number | undefined;
  /**
   * Starts the metrics listener and, on a live cluster, the Event writer; records the serving
   * certificate's expiry. Throws when the metrics port cannot be bound.
   */
  start(cluster: ClusterView, certificate: ServingCertificate): Promise<void>;
  /** Which decisions may write their Event (security/side-effects.ts); until called, all may. */
  guardSideEffects(guard: SideEffectGuard): void;
  /** Wraps the server the serving-pair watch installs rotated pairs into, to follow the certificate's expiry. */
  servingPairTarget(target: ServingPairTarget): ServingPairTarget;
  /** Writes the Events still owed (a few seconds at most), closes the audit file (fsync) and the metrics listener. */
  close(): Promise<void>;
}

/** Opens the audit file at once (throws naming it when it cannot), so a bad path fails start-up. */
export function createObservability(options: ObservabilityOptions, logger: Logger): Observability {
  const metrics = new WebhookMetrics();
  const recentCapacity = options.auditRecent ?? DEFAULT_RECENT_CAPACITY;
  const recent = recentCapacity > 0 ? new RecentDecisions(recentCapacity) : undefined;
  const file =
    options.auditFile === undefined
      ? undefined
      : new AuditFile({ path: options.auditFile, maxBytes: options.auditFileMaxBytes, keep: options.auditFileKeep, logger });
  if (file) logger.info({ auditFile: file.path, maxBytes: file.maxBytes, keep: file.keep }, 'appending the audit trail to a file');

  let events: EventRecorder | undefined;
  let releaseEvents: (() => void) | undefined;
  let metricsServer: MetricsServerHandle | undefined;
  // The trail reads `events` when it records, so the recorder can start after the trail exists.
  const sinks: DecisionTrailSinks = { logger, metrics, denials: new DenialMetrics(metrics.registry), file, recent, events };
  const trail = new DecisionTrail(sinks);
  let closing: Promise<void> | undefined;

  return {
    metrics,
    trail,
    clusterHooks: { onWatchRestart: (resource) => metrics.countWatchRestart(resource) },
    auditRecent: recent && recentDecisionsHandler(recent),
    metricsPort: () => metricsServer?.port,

    async start(cluster, certificate) {
      metrics.trackClusterSync(() => cluster.isSynced());
      metrics.setCertExpiry(certificate.notAfter);
      const mode = options.events ?? 'off';
      if (mode !== 'off' && cluster instanceof LiveClusterView) {
        const api = kubeEventApi(cluster.kubeConfig);
        events = new EventRecorder({ api, mode, logger, metrics, ...options.eventTuning });
        releaseEvents = api.release;
        sinks.events = events;
        logger.info({ events: mode }, mode === 'all' ? 'writing Kubernetes Events for every eviction decision' : 'writing Kubernetes Events for denied evictions');
      } else if (mode !== 'off') {
        logger.info({ events: mode }, 'Kubernetes Events are disabled: there is no API server to write them to (snapshot or demo mode)');
      }
      if (options.metricsPort !== undefined && options.metricsPort !== 'off') {
        const host = options.metricsAddress ?? DEFAULT_METRICS_ADDRESS;
        metricsServer = await startMetricsServer({ metrics, port: options.metricsPort, host, logger });
        // Not `port`: scripts find the webhook's port as the first log line with a `port` field.
        logger.info({ metricsPort: metricsServer.port, metricsAddress: host }, 'metrics listening (plain HTTP, GET /metrics)');
      }
    },

    guardSideEffects: (guard) => {
      sinks.sideEffects = guard;
    },

    servingPairTarget: (target) => ({
      setServingPair: (pair) => {
        const installed = target.setServingPair(pair);
        metrics.setCertExpiry(installed.notAfter);
        return installed;
      },
    }),

    close() {
      closing ??= (async () => {
        sinks.events = undefined;
        await Promise.all([
          events?.close().finally(() => releaseEvents?.()),
          metricsServer?.close(),
          (async () => {
            try {
              file?.close();
            } catch (error) {
              logger.error({ err: error, auditFile: file?.path }, 'could not flush the audit file');
            }
          })(),
        ]);
      })();
      return closing;
    },
  };
}
