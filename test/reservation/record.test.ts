import type { OwnerFacts } from '../../src/domain';
import {
  isDisposable,
  liveReservations,
  MAX_RESERVATIONS_PER_RECORD,
  reservationView,
  scopeOf,
  withoutReservation,
  withReservation,
  type Reservation,
  type ReservationRecord,
  type ScopeRef,
} from '../../src/reservation/record';
import { podFacts } from '../helpers/facts';

const deployment: OwnerFacts = { kind: 'Deployment', name: 'web', replicas: 3, readyReplicas: 3, replicasFrom: 'spec' };
const ownerScope: ScopeRef = { scope: 'owner', key: 'shop/Deployment/web' };
const NOW = Date.parse('2024-06-05T10:00:00Z');
const TTL = 120_000;

function entry(name: string, overrides: Partial<Reservation> = {}): Reservation {
  return { namespace: 'shop', name, uid: `${name}-uid`, reservedAt: NOW - 1000, expiresAt: NOW + 60_000, by: 'replica-a', ...overrides };
}
const record = (entries: Reservation[], version = '7'): ReservationRecord => ({ scope: ownerScope, entries, version });

describe('scopeOf()', () => {
  it('keys the owner scope by namespace, kind and name, the namespace scope by name, the node scope by node', () => {
    const pod = podFacts('web-1', { nodeName: 'node-a' });
    expect(scopeOf('owner', pod, deployment)).toEqual({ scope: 'owner', key: 'shop/Deployment/web' });
    expect(scopeOf('namespace', pod, deployment)).toEqual({ scope: 'namespace', key: 'shop' });
    expect(scopeOf('node', pod, deployment)).toEqual({ scope: 'node', key: 'node-a' });
  });

  it('has no scope for a pod without a controller (its own owner) per owner, nor for an unscheduled pod per node', () => {
    const bare = { kind: 'Pod', name: 'web-1', replicas: 1, readyReplicas: 1, replicasFrom: 'pods' as const };
    expect(scopeOf('owner', podFacts('web-1'), bare)).toBeUndefined();
    expect(scopeOf('node', podFacts('web-1', { nodeName: undefined }), deployment)).toBeUndefined();
  });
});

describe('reservationView()', () => {
  it('counts live entries by pod name and uid, in the scope that holds them and in any', () => {
    const view = reservationView([record([entry('web-2'), entry('web-3', { expiresAt: NOW })])], NOW);
    expect(view.holds(ownerScope, podFacts('web-2'))).toBe(true);
    expect(view.holds({ scope: 'node', key: 'node-a' }, podFacts('web-2'))).toBe(false);
    expect(view.isReserved(podFacts('web-2'))).toBe(true);
    // Expired at this instant.
    expect(view.isReserved(podFacts('web-3'))).toBe(false);
    // A pod recreated under the same name is another pod.
    expect(view.isReserved(podFacts('web-2', { uid: 'new-uid' }))).toBe(false);
    expect(view.isReserved(podFacts('web-2', { namespace: 'other' }))).toBe(false);
  });
});

describe('liveReservations()', () => {
  it('lists the live entries of every record once per pod, whatever scopes hold it', () => {
    const node: ReservationRecord = { scope: { scope: 'node', key: 'node-a' }, entries: [entry('web-2'), entry('db-0')] };
    const live = liveReservations([record([entry('web-2'), entry('web-3', { expiresAt: NOW })]), node], NOW);
    expect(live.map((kept) => kept.name).sort()).toEqual(['db-0', 'web-2']);
  });
});

describe('withReservation()', () => {
  const peers = [podFacts('web-1'), podFacts('web-2'), podFacts('web-3', { deleting: true }), podFacts('web-4', { phase: 'Succeeded' }), podFacts('web-5')];

  it('adds the pod with its expiry and who reserved it', () => {
    expect(withReservation(record([]), { pod: podFacts('web-1'), now: NOW, ttlMs: TTL, by: 'replica-b', peers })).toEqual([
      { namespace: 'shop', name: 'web-1', uid: 'web-1-uid', reservedAt: NOW, expiresAt: NOW + TTL, by: 'replica-b' },
    ]);
  });

  it('drops entries whose pod is terminating, finished, gone or recreated, or whose TTL passed, and replaces the pod’s own', () => {
    const entries = [
      entry('web-2'),
      entry('web-3'),
      entry('web-4'),
      entry('gone'),
      entry('web-5', { expiresAt: NOW - 1 }),
      entry('web-1', { expiresAt: NOW + 5 }),
      entry('web-2', { uid: 'older-uid' }),
    ];
    const next = withReservation(record(entries), { pod: podFacts('web-1'), now: NOW, ttlMs: TTL, by: 'replica-b', peers });
    expect(next?.map((kept) => `${kept.name}:${kept.uid}:${kept.expiresAt - NOW}`)).toEqual(['web-2:web-2-uid:60000', `web-1:web-1-uid:${TTL}`]);
  });

  it('refuses to grow a record past its bound', () => {
    const many = Array.from({ length: MAX_RESERVATIONS_PER_RECORD }, (_, index) => entry(`p-${index}`));
    const manyPeers = many.map((kept) => podFacts(kept.name, { uid: kept.uid }));
    expect(withReservation(record(many), { pod: podFacts('web-1'), now: NOW, ttlMs: TTL, by: 'a', peers: manyPeers })).toBeUndefined();
    // One fewer fits.
    expect(withReservation(record(many.slice(1)), { pod: podFacts('web-1'), now: NOW, ttlMs: TTL, by: 'a', peers: manyPeers })).toHaveLength(MAX_RESERVATIONS_PER_RECORD);
  });
});

describe('withoutReservation() and isDisposable()', () => {
  it('gives a pod’s slot back and keeps the others', () => {
    expect(withoutReservation(record([entry('web-1'), entry('web-2')]), podFacts('web-1')).map((kept) => kept.name)).toEqual(['web-2']);
  });

  it('disposes of a record once none of its entries is live', () => {
    expect(isDisposable(record([]), NOW)).toBe(true);
    expect(isDisposable(record([entry('web-1', { expiresAt: NOW })]), NOW)).toBe(true);
    expect(isDisposable(record([entry('web-1', { expiresAt: NOW }), entry('web-2')]), NOW)).toBe(false);
  });
});
