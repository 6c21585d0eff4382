import type { PodFacts } from '../../src/domain';
import { scopeLabel, type Reservation, type ReservationRecord, type ReservationView, type ScopeRef } from '../../src/reservation/record';
import { MAX_RESERVATION_ATTEMPTS, Reserver, type ReserveRequest } from '../../src/reservation/reserver';
import { MemoryReservationStore } from '../../src/reservation/store';
import { podFacts } from '../helpers/facts';

const owner: ScopeRef = { scope: 'owner', key: 'shop/Deployment/web' };
const node: ScopeRef = { scope: 'node', key: 'node-a' };
const pods = Array.from({ length: 6 }, (_, index) => podFacts(`web-${index + 1}`));
const TTL = 60_000;

/** A store whose writes can be intercepted: `beforeWrite` runs first and may change what is stored. */
class ScriptedStore extends MemoryReservationStore {
  reads = 0;
  writes = 0;
  beforeWrite?: (record: ReservationRecord) => Promise<void> | void;
  failReads?: Error;

  override async read(scope: ScopeRef): Promise<ReservationRecord> {
    this.reads++;
    if (this.failReads) throw this.failReads;
    return super.read(scope);
  }

  override async write(record: ReservationRecord, entries: readonly Reservation[]): Promise<ReservationRecord | 'conflict'> {
    this.writes++;
    await this.beforeWrite?.(record);
    return super.write(record, entries);
  }

  /** Writes as another replica would, whatever version it holds. */
  async writeAside(scope: ScopeRef, pod: PodFacts): Promise<void> {
    const current = await super.read(scope);
    await super.write(current, [...current.entries, { namespace: pod.namespace, name: pod.name, uid: pod.uid, reservedAt: Date.now(), expiresAt: Date.now() + TTL, by: 'other' }]);
  }

  names(scope: ScopeRef): string[] {
    return this.all()
      .filter((record) => scopeLabel(record.scope) === scopeLabel(scope))
      .flatMap((record) => record.entries.map((entry) => entry.name));
  }
}

/** What a counting rule decides: at most `limit` pods of each claimed scope reserved, this one included. */
function request(pod: PodFacts, limit: number, overrides: Partial<ReserveRequest> = {}, scopes: ScopeRef[] = [owner]): ReserveRequest {
  return {
    pod,
    claims: scopes,
    peers: () => pods,
    decide: (view: ReservationView) => {
      const others = pods.filter((other) => other.name !== pod.name && view.isReserved(other)).length;
      return { allowed: others + 1 <= limit, claims: scopes.filter((scope) => !view.holds(scope, pod)) };
    },
    write: true,
    dryRun: false,
    deadline: Date.now() + 2000,
    ...overrides,
  };
}

const reserverOn = (store: MemoryReservationStore) => new Reserver({ store, ttlMs: TTL, instance: 'replica-a' });

describe('Reserver', () => {
  it('lets exactly the limit through when evictions of one scope arrive at once', async () => {
    const store = new ScriptedStore();
    const reserver = reserverOn(store);
    const results = await Promise.all(pods.map((pod) => reserver.reserve(request(pod, 2))));
    expect(results.map(({ outcome }) => outcome.result).sort()).toEqual(['denied', 'denied', 'denied', 'denied', 'reserved', 'reserved']);
    expect(store.names(owner)).toHaveLength(2);
    // One process queues its evictions of a scope: none of its own writes conflicts.
    expect(results.every(({ outcome }) => outcome.conflicts === 0)).toBe(true);
  });

  it('lets exactly the limit through across two replicas that share only the store', async () => {
    const store = new ScriptedStore();
    const [a, b] = [reserverOn(store), reserverOn(store)];
    const results = await Promise.all(pods.map((pod, index) => (index % 2 === 0 ? a : b).reserve(request(pod, 3))));
    expect(results.filter(({ outcome }) => outcome.result === 'reserved')).toHaveLength(3);
    expect(store.names(owner)).toHaveLength(3);
  });

  it('reads again and decides again when another writer got there first', async () => {
    const store = new ScriptedStore();
    const [a, b] = [reserverOn(store), reserverOn(store)];
    expect((await a.reserve(request(pods[0], 2))).outcome.result).toBe('reserved');
    expect((await b.reserve(request(pods[1], 2))).outcome.result).toBe('reserved');
    // a's last write is stale now: its write conflicts, the fresh read shows the limit reached.
    const { outcome } = await a.reserve(request(pods[2], 2));
    expect(outcome).toEqual({ result: 'denied', scopes: ['owner/shop/Deployment/web'], attempts: 2, conflicts: 1 });
    expect(store.names(owner)).toEqual(['web-1', 'web-2']);
  });

  it('never denies on a record it remembered without reading it again', async () => {
    const store = new ScriptedStore();
    const reserver = reserverOn(store);
    await reserver.reserve(request(pods[0], 1));
    // The slot was given back elsewhere since (another replica's refused eviction).
    await store.write(await store.read(owner), []);
    const readsBefore = store.reads;
    const { outcome } = await reserver.reserve(request(pods[1], 1));
    expect(outcome).toMatchObject({ result: 'reserved', attempts: 2 });
    expect(store.reads).toBe(readsBefore + 1);
  });

  it('writes once per reserved eviction once the record is known, and not at all for a retry', async () => {
    const store = new ScriptedStore();
    const reserver = reserverOn(store);
    await reserver.reserve(request(pods[0], 5));
    const [reads, writes] = [store.reads, store.writes];
    expect((await reserver.reserve(request(pods[1], 5))).outcome.result).toBe('reserved');
    expect([store.reads - reads, store.writes - writes]).toEqual([0, 1]);
    expect((await reserver.reserve(request(pods[1], 5))).outcome).toMatchObject({ result: 'held', attempts: 1 });
    expect(store.writes - writes).toBe(1);
  });

  it('counts but never writes for a dry run or a request that may not write', async () => {
    const store = new ScriptedStore();
    const reserver = reserverOn(store);
    await reserver.reserve(request(pods[0], 2));
    expect((await reserver.reserve(request(pods[1], 2, { write: false, dryRun: true }))).outcome.result).toBe('dry-run');
    expect((await reserver.reserve(request(pods[1], 2, { write: false }))).outcome.result).toBe('skipped');
    expect((await reserver.reserve(request(pods[1], 1, { write: false, dryRun: true }))).outcome.result).toBe('denied');
    expect(store.names(owner)).toEqual(['web-1']);
  });

  it('fails, naming the store and the problem, when a record cannot be read', async () => {
    const store = new ScriptedStore();
    store.failReads = new Error('GET leases/x: HTTP 500 InternalError');
    const result = await reserverOn(store).reserve(request(pods[0], 2));
    expect(result.outcome).toEqual({
      result: 'failed',
      scopes: ['owner/shop/Deployment/web'],
      attempts: 0,
      conflicts: 0,
      error: 'memory: GET leases/x: HTTP 500 InternalError',
    });
    expect(result.view).toBeUndefined();
  });

  it(`gives up after ${MAX_RESERVATION_ATTEMPTS} attempts when every write conflicts`, async () => {
    const store = new ScriptedStore();
    store.beforeWrite = (record) => store.writeAside(record.scope, podFacts('elsewhere'));
    const { outcome } = await reserverOn(store).reserve(request(pods[0], 100));
    expect(outcome).toMatchObject({ result: 'failed', attempts: MAX_RESERVATION_ATTEMPTS, conflicts: MAX_RESERVATION_ATTEMPTS });
    expect(outcome.error).toContain(`gave up after ${MAX_RESERVATION_ATTEMPTS} attempts`);
  });

  it('fails at its deadline while other evictions of the scope hold it up', async () => {
    const store = new ScriptedStore();
    let unblock!: () => void;
    store.beforeWrite = () => new Promise<void>((resolve) => (unblock = resolve));
    const reserver = reserverOn(store);
    const first = reserver.reserve(request(pods[0], 5));
    const started = Date.now();
    const { outcome } = await reserver.reserve(request(pods[1], 5, { deadline: Date.now() + 100 }));
    expect(Date.now() - started).toBeLessThan(3000);
    expect(outcome).toMatchObject({ result: 'failed', error: expect.stringContaining('waited for other evictions of owner/shop/Deployment/web until the deadline') });
    store.beforeWrite = undefined;
    unblock();
    expect((await first).outcome.result).toBe('reserved');
    // The lock is free again.
    expect((await reserver.reserve(request(pods[2], 5))).outcome.result).toBe('reserved');
  });

  it('gives back a slot it took in one scope when another scope then denies', async () => {
    const store = new ScriptedStore();
    let injected = false;
    store.beforeWrite = async (record) => {
      if (record.scope.scope === 'node' && !injected) {
        injected = true;
        await store.writeAside(node, podFacts('web-6'));
      }
    };
    const { outcome } = await reserverOn(store).reserve(request(pods[0], 1, {}, [owner, node]));
    expect(outcome).toMatchObject({ result: 'denied', conflicts: 1 });
    expect(store.names(owner)).toEqual([]);
    expect(store.names(node)).toEqual(['web-6']);
  });
});
