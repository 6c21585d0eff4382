// The reservation step of one eviction: read the records of the scopes its counting rules claim,
// decide again counting the reserved pods, and write the pod into each record on the condition that
// no one wrote since it was read. A conflict means another eviction got there first: read again and
// decide again, as eviction.go retries its PDB update on a conflict. Bounded in attempts and time.
//
// Within one process, evictions of the same scope queue on a lock, so they never conflict with
// each other and the last record written serves as the next one's read. That record is only a
// hint: an allow still rests on a conditional write, and a denial is never given on a record that
// was not read from the store during this request.
import { describeError } from '../cluster/errors';
import type { PodFacts } from '../domain';
import {
  reservationView,
  scopeLabel,
  withoutReservation,
  withReservation,
  type ReservationRecord,
  type ReservationView,
  type ScopeRef,
} from './record';
import type { ReservationStore } from './store';

/**
 * What the step did. reserved: written into every claimed record. held: the pod already held its
 * slots (a retried eviction). denied: counting the reservations denied the eviction. dry-run and
 * skipped: allowed, counted but not written (a dry run; a request that may not write). failed: a
 * record could not be read or written in time; the policies' failurePolicy decides.
 */
export type ReservationResult = 'reserved' | 'held' | 'denied' | 'dry-run' | 'skipped' | 'failed';
export const RESERVATION_RESULTS: readonly ReservationResult[] = ['reserved', 'held', 'denied', 'dry-run', 'skipped', 'failed'];

/** The reservation step of one eviction, for the audit line and the metrics. */
export interface ReservationOutcome {
  result: ReservationResult;
  /** The scopes claimed, as scope/key. */
  scopes: string[];
  /** Decisions taken on the records (1 unless a write conflicted or a denial was re-read). */
  attempts: number;
  /** Writes answered with a conflict. */
  conflicts: number;
  error?: string;
}

/** One decision over the records read so far. */
export interface ReservingDecision {
  allowed: boolean;
  /** The scopes in which the pod still needs a slot (not already held). */
  claims: readonly ScopeRef[];
}

export interface ReserveRequest {
  pod: PodFacts;
  claims: readonly ScopeRef[];
  /** The pods of a claimed scope as the cluster shows them: reservations of other pods are pruned on write. */
  peers(scope: ScopeRef): readonly PodFacts[];
  decide(view: ReservationView): ReservingDecision;
  /** False for dry runs and for requests that may not write: count reservations, never write one. */
  write: boolean;
  dryRun: boolean;
  /** Epoch ms by which the step gives up. */
  deadline: number;
}

export interface ReserveResult {
  outcome: ReservationOutcome;
  /** The reservations the last decision counted; undefined when none could be read. */
  view?: ReservationView;
}

export interface ReserverOptions {
  store: ReservationStore;
  ttlMs: number;
  /** `by` of the reservations written: the replica's pod name. */
  instance: string;
  now?: () => number;
}

/** Decisions per eviction; each beyond the first follows a conflict another writer won. */
export const MAX_RESERVATION_ATTEMPTS = 10;
/** The most time the step may take (issue 10): the whole answer must come within the webhook's 5 s timeout. */
export const RESERVATION_BUDGET_MS = 2000;
/** Records remembered between requests; the least recently written are forgotten first. */
const MAX_REMEMBERED = 4096;

/** Waits for every promise, then throws the first failure. */
async function settled(promises: readonly Promise<unknown>[]): Promise<void> {
  const failed = (await Promise.allSettled(promises)).find((result) => result.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
}

/** Per-key FIFO locks: a waiter gives up at its deadline without holding up those behind it. */
class KeyedLocks {
  private readonly tails = new Map<string, Promise<void>>();

  async acquire(keys: readonly string[], deadline: number): Promise<() => void> {
    const releases: (() => void)[] = [];
    const releaseAll = () => releases.forEach((release) => release());
    for (const key of [...keys].sort()) {
      const previous = this.tails.get(key) ?? Promise.resolve();
      let open!: () => void;
      const gate = new Promise<void>((resolve) => (open = resolve));
      const tail = previous.then(() => gate);
      this.tails.set(key, tail);
      releases.push(() => {
        open();
        if (this.tails.get(key) === tail) this.tails.delete(key);
      });
      let timer: NodeJS.Timeout | undefined;
      const turn = await Promise.race([
        previous.then(() => true),
        new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), Math.max(0, deadline - Date.now())))),
      ]);
      clearTimeout(timer);
      if (!turn) {
        releaseAll();
        throw new Error(`waited for other evictions of ${key} until the deadline`);
      }
    }
    return releaseAll;
  }
}

export class Reserver {
  private readonly locks = new KeyedLocks();
  private readonly remembered = new Map<string, ReservationRecord>();
  private readonly now: () => number;

  constructor(private readonly options: ReserverOptions) {
    this.now = options.now ?? Date.now;
  }

  private remember(record: ReservationRecord): void {
    const label = scopeLabel(record.scope);
    this.remembered.delete(label);
    this.remembered.set(label, record);
    if (this.remembered.size > MAX_REMEMBERED) this.remembered.delete(this.remembered.keys().next().value!);
  }

  private async readFresh(scope: ScopeRef, deadline: number): Promise<ReservationRecord> {
    const record = await this.options.store.read(scope, deadline);
    this.remember(record);
    return record;
  }

  async reserve(request: ReserveRequest): Promise<ReserveResult> {
    const { store } = this.options;
    const scopes = new Map(request.claims.map((scope) => [scopeLabel(scope), scope]));
    const outcome: ReservationOutcome = { result: 'failed', scopes: [...scopes.keys()].sort(), attempts: 0, conflicts: 0 };
    const records = new Map<string, ReservationRecord>();
    const fresh = new Set<string>();
    const written = new Set<string>();
    let view: ReservationView | undefined;

    let release: (() => void) | undefined;
    try {
      release = await this.locks.acquire([...scopes.keys()], request.deadline);
      await Promise.all(
        [...scopes].map(async ([label, scope]) => {
          const known = this.remembered.get(label);
          if (known !== undefined) {
            records.set(label, known);
            return;
          }
          records.set(label, await this.readFresh(scope, request.deadline));
          fresh.add(label);
        }),
      );

      while (outcome.attempts < MAX_RESERVATION_ATTEMPTS) {
        outcome.attempts++;
        view = reservationView(records.values(), this.now());
        const decision = request.decide(view);
        if (!decision.allowed) {
          const stale = [...records.keys()].filter((label) => !fresh.has(label));
          if (stale.length === 0) return await this.finish(request, outcome, 'denied', view, written, records);
          await Promise.all(stale.map(async (label) => records.set(label, await this.readFresh(scopes.get(label)!, request.deadline))));
          stale.forEach((label) => fresh.add(label));
          continue;
        }
        const pending = decision.claims.filter((scope) => scopes.has(scopeLabel(scope)));
        if (pending.length === 0) return await this.finish(request, outcome, written.size > 0 ? 'reserved' : 'held', view, written, records);
        if (!request.write) return await this.finish(request, outcome, request.dryRun ? 'dry-run' : 'skipped', view, written, records);

        const now = this.now();
        const conflictsBefore = outcome.conflicts;
        // Settled, not all: a write still in flight when another fails must be known before giving back.
        await settled(
          pending.map(async (scope) => {
            const label = scopeLabel(scope);
            const record = records.get(label)!;
            const entries = withReservation(record, { pod: request.pod, now, ttlMs: this.options.ttlMs, by: this.options.instance, peers: request.peers(scope) });
            if (entries === undefined) throw new Error(`the record of ${label} is full: too many evictions in flight that are not seen terminating`);
            const result = await store.write(record, entries, request.deadline);
            if (result === 'conflict') {
              outcome.conflicts++;
              records.set(label, await this.readFresh(scope, request.deadline));
              fresh.add(label);
              return;
            }
            this.remember(result);
            records.set(label, result);
            fresh.add(label);
            written.add(label);
          }),
        );
        // Every slot the decision needed is written, on records no one changed since it was taken.
        if (outcome.conflicts === conflictsBefore) return await this.finish(request, outcome, 'reserved', view, written, records);
      }
      throw new Error(`gave up after ${MAX_RESERVATION_ATTEMPTS} attempts: other evictions kept writing the same records`);
    } catch (error) {
      outcome.error = `${store.description}: ${describeError(error)}`;
      return await this.finish(request, outcome, 'failed', view, written, records);
    } finally {
      release?.();
    }
  }

  /**
   * Ends the step. An eviction that is not allowed after all gives back the slots it already took
   * (a write into one scope succeeded, another conflicted and then denied), so that they do not
   * block its scope until they expire. Best effort, within the deadline: a slot that cannot be
   * given back only lasts its TTL.
   */
  private async finish(
    request: ReserveRequest,
    outcome: ReservationOutcome,
    result: ReservationResult,
    view: ReservationView | undefined,
    written: ReadonlySet<string>,
    records: ReadonlyMap<string, ReservationRecord>,
  ): Promise<ReserveResult> {
    outcome.result = result;
    if (result === 'denied' || result === 'failed') {
      await Promise.all(
        [...written].map(async (label) => {
          const record = records.get(label)!;
          try {
            const answer = await this.options.store.write(record, withoutReservation(record, request.pod), request.deadline);
            if (answer !== 'conflict') this.remember(answer);
            else this.remembered.delete(label);
          } catch {
            this.remembered.delete(label);
          }
        }),
      );
    }
    return { outcome, ...(view ? { view } : {}) };
  }
}
