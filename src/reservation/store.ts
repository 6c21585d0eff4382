// Where reservation records live. In a cluster: Leases (lease-store.ts), so that every replica of
// the webhook reads and writes the same records and etcd arbitrates. From a snapshot or the demo
// cluster: memory, since a single process is the only writer there. Both write with the same
// precondition, so the code that reserves cannot tell them apart.
import { isDisposable, scopeLabel, type Reservation, type ReservationRecord, type ScopeRef } from './record';

/** Why a record could not be read or written: the message names the record and the problem. */
export class ReservationStoreError extends Error {
  override readonly name = 'ReservationStoreError';
}

/** Reads every record at once, and never writes: what `check` needs to count the webhook's reservations. */
export interface ReservationReader {
  /** For logs and messages: "Leases in namespace eviction-guard", "memory". */
  readonly description: string;
  /** Every record stored, whatever its scope. Gives up at `deadline` (epoch ms). */
  list(deadline: number): Promise<ReservationRecord[]>;
  close(): void;
}

export interface ReservationStore extends ReservationReader {
  /** The record of a scope; an empty one without a version when none is stored. Gives up at `deadline` (epoch ms). */
  read(scope: ScopeRef, deadline: number): Promise<ReservationRecord>;
  /**
   * Stores `entries` as the record of `record.scope`, on the condition that the stored record is
   * still at `record.version` (undefined: that none is stored). 'conflict' when it is not: someone
   * else wrote first, read again and decide again.
   */
  write(record: ReservationRecord, entries: readonly Reservation[], deadline: number): Promise<ReservationRecord | 'conflict'>;
  /** Deletes the records in which no reservation counts any more; answers how many. */
  sweep(now: number, deadline: number): Promise<number>;
}

/** The store of a single process (snapshot and demo modes). */
export class MemoryReservationStore implements ReservationStore {
  readonly description = 'memory';
  private readonly records = new Map<string, ReservationRecord>();
  private version = 0;

  async read(scope: ScopeRef): Promise<ReservationRecord> {
    return this.records.get(scopeLabel(scope)) ?? { scope, entries: [] };
  }

  async write(record: ReservationRecord, entries: readonly Reservation[]): Promise<ReservationRecord | 'conflict'> {
    const label = scopeLabel(record.scope);
    if (this.records.get(label)?.version !== record.version) return 'conflict';
    const written = { scope: record.scope, entries: [...entries], version: String(++this.version) };
    this.records.set(label, written);
    return written;
  }

  async sweep(now: number): Promise<number> {
    let deleted = 0;
    for (const [label, record] of this.records) {
      if (!isDisposable(record, now)) continue;
      this.records.delete(label);
      deleted++;
    }
    return deleted;
  }

  async list(): Promise<ReservationRecord[]> {
    return this.all();
  }

  /** Every record held, at once: for tests. */
  all(): ReservationRecord[] {
    return [...this.records.values()];
  }

  close(): void {}
}
