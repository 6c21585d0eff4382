// A reservation record as a coordination.k8s.io/v1 Lease in the webhook's namespace, one Lease per
// scope. The reservations live in an annotation as JSON; the Lease's own fields say which replica
// wrote last and when, so `kubectl get leases` shows it. Pure: builds and reads objects only.
import { createHash } from 'node:crypto';
import { DISRUPTION_SCOPES } from '../policy/schema';
import { scopeLabel, type Reservation, type ReservationRecord, type ScopeRef } from './record';

export const LEASE_API_VERSION = 'coordination.k8s.io/v1';
/** The reservations, a JSON array of {pod, uid, at, expires, by}. */
export const RESERVATIONS_ANNOTATION = 'evictionguard.io/reservations';
/** The scope the Lease records, in full (`owner/shop/Deployment/web`): a name may be shortened. */
export const SCOPE_KEY_ANNOTATION = 'evictionguard.io/scope-key';
export const SCOPE_LABEL = 'evictionguard.io/scope';
/** Every reservation Lease carries these labels; the cleanup lists Leases by them. */
export const RESERVATION_LABELS = { 'app.kubernetes.io/name': 'eviction-guard', 'app.kubernetes.io/component': 'reservations' } as const;
export const RESERVATION_LABEL_SELECTOR = Object.entries(RESERVATION_LABELS)
  .map(([key, value]) => `${key}=${value}`)
  .join(',');

/** A DNS label's length: short enough for `kubectl get` columns, valid for any object name. */
const MAX_NAME_LENGTH = 63;
const HASH_LENGTH = 10;

/**
 * The Lease of a scope: readable (`owner-shop-deployment-web-…`, `node-ip-10-0-1-7-ec2-internal-…`)
 * and made unique by a hash of the exact scope key, since lower-casing, replacing characters a name
 * may not hold and shortening could make two keys read the same.
 */
export function leaseName(scope: ScopeRef): string {
  const hash = createHash('sha256').update(scopeLabel(scope)).digest('hex').slice(0, HASH_LENGTH);
  const readable = `${scope.scope}-${scope.key}`
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .slice(0, MAX_NAME_LENGTH - HASH_LENGTH - 1)
    .replace(/-+$/, '');
  return `${readable}-${hash}`;
}

/** metav1.MicroTime, as the API server parses it: RFC 3339 with exactly six fractional digits. */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

interface StoredReservation {
  pod: string;
  uid: string;
  at: string;
  expires: string;
  by: string;
}

export interface LeaseObject {
  apiVersion: typeof LEASE_API_VERSION;
  kind: 'Lease';
  metadata: {
    name: string;
    namespace: string;
    resourceVersion?: string;
    labels: Record<string, string>;
    annotations: Record<string, string>;
  };
  spec: {
    holderIdentity: string;
    leaseDurationSeconds: number;
    renewTime: string;
  };
}

export interface LeaseWrite {
  record: ReservationRecord;
  entries: readonly Reservation[];
  namespace: string;
  /** The replica writing: holderIdentity. */
  holder: string;
  ttlMs: number;
  now: number;
}

/** The Lease that stores `entries` for the record's scope; with the record's resourceVersion as the write's precondition. */
export function leaseFor(write: LeaseWrite): LeaseObject {
  const { record, entries, namespace, holder, ttlMs, now } = write;
  const stored: StoredReservation[] = entries.map((entry) => ({
    pod: `${entry.namespace}/${entry.name}`,
    uid: entry.uid,
    at: new Date(entry.reservedAt).toISOString(),
    expires: new Date(entry.expiresAt).toISOString(),
    by: entry.by,
  }));
  return {
    apiVersion: LEASE_API_VERSION,
    kind: 'Lease',
    metadata: {
      name: leaseName(record.scope),
      namespace,
      ...(record.version === undefined ? {} : { resourceVersion: record.version }),
      labels: { ...RESERVATION_LABELS, [SCOPE_LABEL]: record.scope.scope },
      annotations: { [SCOPE_KEY_ANNOTATION]: scopeLabel(record.scope), [RESERVATIONS_ANNOTATION]: JSON.stringify(stored) },
    },
    spec: {
      holderIdentity: holder,
      leaseDurationSeconds: Math.max(1, Math.ceil(ttlMs / 1000)),
      renewTime: microTime(now),
    },
  };
}

export interface ReadLease {
  record: ReservationRecord;
  /** What could not be read (a hand-edited annotation); those entries are dropped and overwritten by the next write. */
  problem?: string;
}

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

function toReservation(value: unknown): Reservation | undefined {
  if (!isObject(value)) return undefined;
  const { pod, uid, at, expires, by } = value;
  if (typeof pod !== 'string' || typeof expires !== 'string') return undefined;
  const [namespace, name, ...rest] = pod.split('/');
  const expiresAt = Date.parse(expires);
  const reservedAt = typeof at === 'string' ? Date.parse(at) : NaN;
  if (rest.length > 0 || !namespace || !name || Number.isNaN(expiresAt)) return undefined;
  return {
    namespace,
    name,
    uid: typeof uid === 'string' ? uid : '',
    reservedAt: Number.isNaN(reservedAt) ? expiresAt : reservedAt,
    expiresAt,
    by: typeof by === 'string' ? by : '',
  };
}

/** The record a stored Lease holds for `scope`. Entries that cannot be read are dropped and reported, never thrown. */
export function recordFromLease(scope: ScopeRef, lease: unknown): ReadLease {
  const metadata = isObject(lease) && isObject(lease.metadata) ? lease.metadata : {};
  const version = typeof metadata.resourceVersion === 'string' ? metadata.resourceVersion : undefined;
  const annotations = isObject(metadata.annotations) ? metadata.annotations : {};
  const text = annotations[RESERVATIONS_ANNOTATION];
  if (text === undefined) return { record: { scope, entries: [], version } };
  let parsed: unknown;
  try {
    parsed = JSON.parse(String(text));
  } catch {
    return { record: { scope, entries: [], version }, problem: `annotation ${RESERVATIONS_ANNOTATION} is not JSON` };
  }
  const items = Array.isArray(parsed) ? parsed : [];
  const entries = items.map(toReservation).filter((entry): entry is Reservation => entry !== undefined);
  const dropped = Array.isArray(parsed) ? items.length - entries.length : 1;
  return {
    record: { scope, entries, version },
    ...(dropped > 0 ? { problem: `annotation ${RESERVATIONS_ANNOTATION}: ${dropped} entr${dropped === 1 ? 'y' : 'ies'} could not be read` } : {}),
  };
}

/** The scope a listed Lease records, from its annotation; undefined for a Lease that is not one of ours. */
export function scopeOfLease(lease: unknown): ScopeRef | undefined {
  const annotations = isObject(lease) && isObject(lease.metadata) && isObject(lease.metadata.annotations) ? lease.metadata.annotations : {};
  const label = annotations[SCOPE_KEY_ANNOTATION];
  if (typeof label !== 'string') return undefined;
  const slash = label.indexOf('/');
  const scope = label.slice(0, slash);
  const key = label.slice(slash + 1);
  if (slash < 0 || key === '' || !(DISRUPTION_SCOPES as readonly string[]).includes(scope)) return undefined;
  return { scope: scope as ScopeRef['scope'], key };
}
