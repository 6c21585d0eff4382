// Reservations: the webhook's own record of evictions it allowed that the cluster does not show yet,
// kept the way eviction.go keeps a PDB's status.disruptedPods. A pod evicted a moment ago has no
// deletionTimestamp yet, so evictions arriving together (a drain's goroutines, a second webhook
// replica) would all count 0 pods in disruption. Each allowed eviction that a counting rule
// governs is therefore written into its scope's record first, with optimistic concurrency, and
// the counting rules count reserved pods as in disruption. Pure: no I/O, the clock comes in.
import type { DisruptionScope, OwnerFacts, PodFacts, ReservationView, ScopeRef } from '../domain';

export type { ReservationView, ScopeRef };

/** One allowed eviction, counted as a disruption until its pod is seen terminating or gone, or `expiresAt`. */
export interface Reservation {
  namespace: string;
  name: string;
  /** The pod's uid: a StatefulSet pod recreated under the same name is another pod. */
  uid: string;
  /** Epoch milliseconds. */
  reservedAt: number;
  expiresAt: number;
  /** The webhook replica that wrote it (its pod name). */
  by: string;
}

/** The reservations of one scope as stored. */
export interface ReservationRecord {
  scope: ScopeRef;
  entries: readonly Reservation[];
  /** The stored object's resourceVersion, the precondition of the next write; undefined: not stored yet. */
  version?: string;
}

/**
 * The disruption controller's DeletionTimeout: how long the API server keeps a pod in
 * status.disruptedPods waiting to see it deleted (pkg/controller/disruption). A reservation lapses
 * after the same time, so that an eviction the API server refused after the webhook allowed it
 * (a PDB at 0, a failed delete) holds its slot no longer than upstream holds its own entry.
 */
export const DEFAULT_RESERVATION_TTL_MS = 2 * 60_000;

/**
 * The most reservations one record holds. Like eviction.go's MaxDisruptedPodSize, it bounds the
 * object (a Lease annotation must stay well under the 256 KiB annotation limit): a scope with more
 * evictions in flight than this is refused rather than written.
 */
export const MAX_RESERVATIONS_PER_RECORD = 250;

export const scopeLabel = (scope: ScopeRef) => `${scope.scope}/${scope.key}`;

/**
 * The scope a counting rule with `per` puts an eviction of `pod` in, or undefined when no other
 * eviction can share it: an unscheduled pod has no node, and a pod without a controller is its own
 * owner, a scope of one.
 */
export function scopeOf(per: DisruptionScope, pod: PodFacts, owner: OwnerFacts): ScopeRef | undefined {
  switch (per) {
    case 'owner':
      return owner.kind === 'Pod' ? undefined : { scope: 'owner', key: `${pod.namespace}/${owner.kind}/${owner.name}` };
    case 'namespace':
      return { scope: 'namespace', key: pod.namespace };
    case 'node':
      return pod.nodeName === undefined ? undefined : { scope: 'node', key: pod.nodeName };
  }
}

const isFinished = (pod: PodFacts) => pod.phase === 'Succeeded' || pod.phase === 'Failed';

/** Neither terminating nor finished: a reservation for the pod counts a disruption the cluster does not show (yet). */
export const isNotYetDisrupted = (pod: PodFacts) => !pod.deleting && !isFinished(pod);

/** The entry is about this pod: same name, and the same uid when both are known. */
export function isFor(entry: Reservation, pod: PodFacts): boolean {
  return entry.namespace === pod.namespace && entry.name === pod.name && (entry.uid === '' || pod.uid === '' || entry.uid === pod.uid);
}

const isLive = (entry: Reservation, now: number) => entry.expiresAt > now;

export const NO_RESERVATIONS: ReservationView = { holds: () => false, isReserved: () => false };

/** The live entries of `records` at `now`, one per pod (a pod may hold slots in several scopes). */
export function liveReservations(records: Iterable<ReservationRecord>, now: number): Reservation[] {
  const byPod = new Map<string, Reservation>();
  for (const record of records) {
    for (const entry of record.entries) if (isLive(entry, now)) byPod.set(`${entry.namespace}/${entry.name}/${entry.uid}`, entry);
  }
  return [...byPod.values()];
}

/** What a decision knows about reservations: the live entries of the records it read, at `now`. */
export function reservationView(records: Iterable<ReservationRecord>, now: number): ReservationView {
  const live = new Map<string, Reservation[]>();
  for (const record of records) live.set(scopeLabel(record.scope), record.entries.filter((entry) => isLive(entry, now)));
  const all = [...live.values()].flat();
  return {
    holds: (scope, pod) => (live.get(scopeLabel(scope)) ?? []).some((entry) => isFor(entry, pod)),
    isReserved: (pod) => all.some((entry) => isFor(entry, pod)),
  };
}

export interface NewReservation {
  pod: PodFacts;
  now: number;
  ttlMs: number;
  by: string;
  /** The pods of the record's scope as the cluster shows them now: entries for pods not among them are pruned. */
  peers: readonly PodFacts[];
}

/**
 * The record's entries after adding a reservation for `pod`, with every entry dropped that no
 * longer counts: expired, or its pod terminating, finished or gone (the cluster shows the
 * disruption itself then, or there is none). Undefined when the record is full.
 */
export function withReservation(record: ReservationRecord, reservation: NewReservation): Reservation[] | undefined {
  const { pod, now, ttlMs, by, peers } = reservation;
  const isCurrent = (entry: Reservation) =>
    isLive(entry, now) && peers.some((peer) => isFor(entry, peer) && isNotYetDisrupted(peer)) && !isFor(entry, pod);
  const kept = record.entries.filter(isCurrent);
  if (kept.length >= MAX_RESERVATIONS_PER_RECORD) return undefined;
  return [...kept, { namespace: pod.namespace, name: pod.name, uid: pod.uid, reservedAt: now, expiresAt: now + ttlMs, by }];
}

/** The record's entries without the pod's: an eviction that reserved and was then refused gives its slot back. */
export function withoutReservation(record: ReservationRecord, pod: PodFacts): Reservation[] {
  return record.entries.filter((entry) => !isFor(entry, pod));
}

/** No entry of the record counts any more: the stored object can be deleted. */
export function isDisposable(record: ReservationRecord, now: number): boolean {
  return record.entries.every((entry) => !isLive(entry, now));
}
