// Reservation records as Leases, against the fake API server, whose Leases behave as the real
// server's: creation, updates with a resourceVersion precondition, conflicts, deletes with
// preconditions, validation, and switches that make Lease calls fail or stall.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { resolveKubeConfig } from '../../src/cluster/kubeconfig';
import type { ClusterLogger } from '../../src/cluster/view';
import { leaseName, RESERVATIONS_ANNOTATION } from '../../src/reservation/lease';
import { LeaseReservationReader, LeaseReservationStore } from '../../src/reservation/lease-store';
import type { Reservation, ScopeRef } from '../../src/reservation/record';
import { ReservationStoreError } from '../../src/reservation/store';
import { FakeApiServer } from '../fake-apiserver';

const NAMESPACE = 'eviction-guard';
const scope: ScopeRef = { scope: 'node', key: 'node-a' };
let fake: FakeApiServer;
let dir: string;
let kubeConfig: KubeConfig;
let warnings: object[];
const stores: LeaseReservationStore[] = [];

const logger: ClusterLogger = { debug() {}, info() {}, warn: (details) => warnings.push(details), error() {} };
function storeOf(): LeaseReservationStore {
  const store = new LeaseReservationStore({ kubeConfig, namespace: NAMESPACE, holder: 'eviction-guard-7d9c-abcde', ttlMs: 120_000, logger });
  stores.push(store);
  return store;
}
const soon = () => Date.now() + 2000;
const entry = (name: string, expiresAt = Date.now() + 60_000): Reservation => ({
  namespace: 'shop',
  name,
  uid: `${name}-uid`,
  reservedAt: Date.now(),
  expiresAt,
  by: 'eviction-guard-7d9c-abcde',
});

beforeEach(async () => {
  fake = await FakeApiServer.start();
  dir = mkdtempSync(path.join(os.tmpdir(), 'lease-store-'));
  kubeConfig = resolveKubeConfig(fake.writeKubeconfig(dir))!;
  warnings = [];
});
afterEach(async () => {
  for (const store of stores.splice(0)) store.close();
  await fake.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('LeaseReservationStore', () => {
  it('reads a missing record as empty, creates its Lease, then updates it on its resourceVersion', async () => {
    const store = storeOf();
    const empty = await store.read(scope, soon());
    expect(empty).toEqual({ scope, entries: [] });

    const created = await store.write(empty, [entry('web-1')], soon());
    if (created === 'conflict') throw new Error('unexpected conflict');
    expect(created.entries.map((kept) => kept.name)).toEqual(['web-1']);
    const lease = fake.leases.get(NAMESPACE, leaseName(scope))!;
    expect(lease.metadata.labels).toEqual({ 'app.kubernetes.io/name': 'eviction-guard', 'app.kubernetes.io/component': 'reservations', 'evictionguard.io/scope': 'node' });
    expect(lease.spec).toMatchObject({ holderIdentity: 'eviction-guard-7d9c-abcde', leaseDurationSeconds: 120 });
    expect(created.version).toBe(lease.metadata.resourceVersion);

    const updated = await store.write(created, [...created.entries, entry('web-2')], soon());
    expect(updated !== 'conflict' && updated.entries.map((kept) => kept.name)).toEqual(['web-1', 'web-2']);
    expect((await store.read(scope, soon())).entries.map((kept) => kept.name)).toEqual(['web-1', 'web-2']);
    expect(fake.leases.calls.map((call) => `${call.method} ${call.status}`)).toEqual(['GET 404', 'POST 201', 'PUT 200', 'GET 200']);
  });

  it('answers conflict when another writer got there first: a stale update, a create of an existing Lease, an update of a deleted one', async () => {
    const [a, b] = [storeOf(), storeOf()];
    const seenByA = await a.read(scope, soon());
    const seenByB = await b.read(scope, soon());
    const written = await b.write(seenByB, [entry('web-2')], soon());
    expect(await a.write(seenByA, [entry('web-1')], soon())).toBe('conflict');
    expect(fake.leases.answered(409, 'POST')).toHaveLength(1);

    if (written === 'conflict') throw new Error('unexpected conflict');
    const again = await b.write(written, [entry('web-3')], soon());
    expect(await a.write(written, [entry('web-1')], soon())).toBe('conflict');
    expect(fake.leases.answered(409, 'PUT')).toHaveLength(1);

    if (again === 'conflict') throw new Error('unexpected conflict');
    await a.sweep(Date.now() + 3_600_000, soon());
    expect(await b.write(again, [entry('web-4')], soon())).toBe('conflict');
    expect(fake.leases.answered(404, 'PUT')).toHaveLength(1);
  });

  it('fails naming the call and the answer when the API server errs', async () => {
    fake.leases.failing = true;
    const failure = storeOf().read(scope, soon());
    await expect(failure).rejects.toThrow(ReservationStoreError);
    await expect(failure).rejects.toThrow(`GET /apis/coordination.k8s.io/v1/namespaces/${NAMESPACE}/leases/${leaseName(scope)}: HTTP 500 InternalError: Internal error occurred: the fake Lease API is failing`);
  });

  it('gives up at its deadline when the API server does not answer, and at once when the deadline has passed', async () => {
    fake.leases.stalled = true;
    const store = storeOf();
    const started = Date.now();
    await expect(store.write({ scope, entries: [] }, [entry('web-1')], Date.now() + 300)).rejects.toThrow(/POST .*: timed out after \d+ ms/);
    expect(Date.now() - started).toBeLessThan(5000);
    await expect(store.read(scope, Date.now() - 1)).rejects.toThrow('no time left within the reservation\'s deadline');
  });

  it('drops entries of a hand-edited Lease that it cannot read, and says so', async () => {
    const store = storeOf();
    const created = await store.write({ scope, entries: [] }, [entry('web-1')], soon());
    if (created === 'conflict') throw new Error('unexpected conflict');
    const lease = fake.leases.get(NAMESPACE, leaseName(scope))!;
    lease.metadata.annotations![RESERVATIONS_ANNOTATION] = 'not json';
    expect((await store.read(scope, soon())).entries).toEqual([]);
    expect(warnings).toEqual([expect.objectContaining({ lease: leaseName(scope), problem: `annotation ${RESERVATIONS_ANNOTATION} is not JSON` })]);
  });

  it('lists the records of every scope in one call, for readers that never write, leaving out Leases that are not ours', async () => {
    const store = storeOf();
    const owner: ScopeRef = { scope: 'owner', key: 'shop/Deployment/web' };
    await store.write({ scope, entries: [] }, [entry('web-1')], soon());
    await store.write({ scope: owner, entries: [] }, [entry('web-2'), entry('web-3')], soon());
    fake.leases.seed(NAMESPACE, { metadata: { name: 'leader-election' }, spec: { holderIdentity: 'x' } });
    fake.leases.seed(NAMESPACE, { metadata: { name: 'odd', labels: { 'app.kubernetes.io/name': 'eviction-guard', 'app.kubernetes.io/component': 'reservations' } } });
    const calls = fake.leases.calls.length;

    const reader = new LeaseReservationReader({ kubeConfig, namespace: NAMESPACE, logger });
    try {
      const records = await reader.list(soon());
      expect(records.map((record) => [record.scope, record.entries.map((kept) => kept.name)])).toEqual(
        expect.arrayContaining([
          [scope, ['web-1']],
          [owner, ['web-2', 'web-3']],
        ]),
      );
      expect(records).toHaveLength(2);
      expect(fake.leases.calls.slice(calls).map((call) => `${call.method} ${call.status}`)).toEqual(['GET 200']);
    } finally {
      reader.close();
    }
  });

  it('fails a list naming the call and the answer', async () => {
    fake.leases.failing = true;
    await expect(storeOf().list(soon())).rejects.toThrow(
      `GET /apis/coordination.k8s.io/v1/namespaces/${NAMESPACE}/leases?labelSelector=app.kubernetes.io%2Fname%3Deviction-guard%2Capp.kubernetes.io%2Fcomponent%3Dreservations: HTTP 500 InternalError`,
    );
  });

  it('sweeps away its Leases in which nothing counts any more, and only those', async () => {
    const store = storeOf();
    const live = { scope: 'node' as const, key: 'node-live' };
    await store.write({ scope, entries: [] }, [entry('web-1', Date.now() + 1000)], soon());
    await store.write({ scope: live, entries: [] }, [entry('web-2', Date.now() + 60_000)], soon());
    // Another component's Lease, and one with our labels that names no scope.
    fake.leases.seed(NAMESPACE, { metadata: { name: 'leader-election' }, spec: { holderIdentity: 'x' } });
    fake.leases.seed(NAMESPACE, { metadata: { name: 'odd', labels: { 'app.kubernetes.io/name': 'eviction-guard', 'app.kubernetes.io/component': 'reservations' } } });
    expect(await store.sweep(Date.now() + 5000, soon())).toBe(1);
    expect(fake.leases.list(NAMESPACE).map((lease) => lease.metadata.name).sort()).toEqual([leaseName(live), 'leader-election', 'odd'].sort());
    expect(fake.requests.find((request) => request.method === 'GET' && request.query.labelSelector)?.query.labelSelector).toBe(
      'app.kubernetes.io/name=eviction-guard,app.kubernetes.io/component=reservations',
    );
  });
});
