// The `serve` flags and wiring of reservations (reservation/), kept apart from serve.ts: Leases in
// the webhook's namespace on a live cluster, memory from a snapshot or the demo cluster, and a
// periodic cleanup of records in which nothing counts any more. And what `check` reads of them.
import os from 'node:os';
import type { Logger } from '../audit/logger';
import { LiveClusterView } from '../cluster/live';
import type { ClusterView } from '../cluster/view';
import { describeError } from '../cluster/errors';
import type { ReservationsRead } from '../drain/preflight';
import { LeaseReservationReader, LeaseReservationStore } from '../reservation/lease-store';
import { webhookNamespace } from '../reservation/namespace';
import { DEFAULT_RESERVATION_TTL_MS } from '../reservation/record';
import { Reserver } from '../reservation/reserver';
import { MemoryReservationStore, type ReservationStore } from '../reservation/store';
import { parseSeconds, UsageError } from './usage';

/** Longer would only keep refused evictions counted longer; the disruption controller waits 2 minutes. */
const MAX_RESERVATION_TTL_MS = 60 * 60_000;
const NAMESPACE_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** The cleanup's own time limit: listing and deleting Leases is off the request path. */
const SWEEP_DEADLINE_MS = 30_000;

export const RESERVATION_USAGE = `  --reservation-ttl SECONDS
                        how long a reservation counts an eviction a counting rule allowed, at most
                        (default ${DEFAULT_RESERVATION_TTL_MS / 1000}, the disruption controller's DeletionTimeout); it ends
                        earlier once the pod is seen terminating or gone
  --reservation-namespace NS
                        namespace of the reservation Leases (default: $POD_NAMESPACE, else the
                        service account's namespace, else the kubeconfig context's, else default)`;

/** parseFlags() options of the flags above. */
export const RESERVATION_FLAGS = {
  'reservation-ttl': { type: 'string' },
  'reservation-namespace': { type: 'string' },
} as const;

export interface ReservationOptions {
  /** `--reservation-ttl` in ms (default 2 minutes). */
  reservationTtlMs?: number;
  /** `--reservation-namespace`. */
  reservationNamespace?: string;
}

/** `--reservation-namespace`, checked to be a namespace name; undefined when not given. */
export function parseReservationNamespace(value: unknown, usage: string): string | undefined {
  const namespace = value as string | undefined;
  if (namespace !== undefined && !NAMESPACE_NAME.test(namespace)) {
    throw new UsageError(`--reservation-namespace must be a namespace name (lower-case letters, digits and -), got "${namespace}"`, usage);
  }
  return namespace;
}

export function parseReservationOptions(values: Record<string, unknown>, usage: string): ReservationOptions {
  const ttlMs = parseSeconds(values['reservation-ttl'], DEFAULT_RESERVATION_TTL_MS / 1000, '--reservation-ttl', usage);
  if (ttlMs > MAX_RESERVATION_TTL_MS) throw new UsageError(`--reservation-ttl must be at most ${MAX_RESERVATION_TTL_MS / 1000} seconds, got "${String(values['reservation-ttl'])}"`, usage);
  return { reservationTtlMs: ttlMs, reservationNamespace: parseReservationNamespace(values['reservation-namespace'], usage) };
}

/** Where `check` looks for the webhook's Leases unless told: the namespace the manifests and the Helm instructions install into. */
export const INSTALL_NAMESPACE = 'eviction-guard';

/**
 * The webhook's reservations in a cluster, for `check`: one LIST of the Leases in `namespace`,
 * never a write. Undefined without a cluster (a snapshot, the demo), where no webhook writes any.
 * A failed read is returned, not thrown: the plan is still worth having, and says what it missed.
 */
export async function readReservations(view: ClusterView, namespace: string, timeoutMs: number, logger: Logger): Promise<ReservationsRead | undefined> {
  if (!(view instanceof LiveClusterView)) return undefined;
  const reader = new LeaseReservationReader({ kubeConfig: view.kubeConfig, namespace, logger });
  try {
    return { from: reader.description, records: await reader.list(Date.now() + timeoutMs) };
  } catch (error) {
    const failure = describeError(error);
    logger.warn({ error: failure }, 'could not read the reservation Leases: evictions the webhook allowed a moment ago are not counted');
    return { from: reader.description, error: failure };
  } finally {
    reader.close();
  }
}

export interface Reservations {
  reserver: Reserver;
  /** Where the records live: "Leases in namespace …" or "memory". */
  description: string;
  close(): void;
}

/**
 * The reserver of a webhook: Leases in its namespace when it watches a cluster, so that its
 * replicas agree through the API server; memory otherwise, where this process is the only writer.
 */
export function startReservations(options: ReservationOptions, view: ClusterView, logger: Logger): Reservations {
  const ttlMs = options.reservationTtlMs ?? DEFAULT_RESERVATION_TTL_MS;
  const instance = os.hostname();
  let store: ReservationStore;
  if (view instanceof LiveClusterView) {
    const { namespace, from } = webhookNamespace({ flag: options.reservationNamespace, env: process.env, kubeConfig: view.kubeConfig });
    store = new LeaseReservationStore({ kubeConfig: view.kubeConfig, namespace, holder: instance, ttlMs, logger });
    logger.info({ reservations: store.description, namespaceFrom: from, ttlSeconds: ttlMs / 1000 }, 'counting rules reserve allowed evictions in Leases');
  } else {
    store = new MemoryReservationStore();
    logger.info({ reservations: store.description, ttlSeconds: ttlMs / 1000 }, 'counting rules reserve allowed evictions in memory (no cluster to write Leases to)');
  }

  let sweeping = false;
  const sweep = setInterval(() => {
    if (sweeping) return;
    sweeping = true;
    const now = Date.now();
    store
      .sweep(now, now + SWEEP_DEADLINE_MS)
      .then(
        (deleted) => deleted > 0 && logger.debug({ deleted }, 'deleted reservation records in which nothing counts any more'),
        (error: unknown) => logger.warn({ error: describeError(error) }, 'could not clean up reservation records; will try again'),
      )
      .finally(() => (sweeping = false));
  }, ttlMs);
  sweep.unref();

  return {
    reserver: new Reserver({ store, ttlMs, instance }),
    description: store.description,
    close: () => {
      clearInterval(sweep);
      store.close();
    },
  };
}
