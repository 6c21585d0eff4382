import type { OwnerRef } from '../domain';

/**
 * Pool sizes after which a pool starts afresh. Interning only saves memory, so dropping a pool
 * costs at most some duplicates; the bound keeps churning values (pod-template-hash, per-pod
 * labels) from growing a pool for ever.
 */
const MAX_STRINGS = 100_000;
const MAX_RECORDS = 50_000;

const EMPTY_RECORD: Readonly<Record<string, string>> = Object.freeze({});

/**
 * Shares repeated strings and identical label/annotation sets between trimmed objects. Pods of one
 * workload carry the same labels, namespace, owner and node names, so a 100k-pod index holds
 * each of those once instead of once per pod.
 */
export class Interner {
  private strings = new Map<string, string>();
  private records = new Map<string, Readonly<Record<string, string>>>();
  private owners = new Map<string, OwnerRef>();

  string(value: string): string {
    const pooled = this.strings.get(value);
    if (pooled !== undefined) return pooled;
    if (this.strings.size >= MAX_STRINGS) this.strings = new Map();
    this.strings.set(value, value);
    return value;
  }

  /** A frozen, shared copy of a string map; the same entries in the same order give the same object. */
  record(entries: readonly (readonly [string, string])[]): Readonly<Record<string, string>> {
    if (entries.length === 0) return EMPTY_RECORD;
    let key = '';
    for (const [name, value] of entries) key += `${name}\u0000${value}\u0000`;
    const pooled = this.records.get(key);
    if (pooled !== undefined) return pooled;
    const record: Record<string, string> = {};
    for (const [name, value] of entries) record[this.string(name)] = this.string(value);
    Object.freeze(record);
    if (this.records.size >= MAX_RECORDS) this.records = new Map();
    this.records.set(key, record);
    return record;
  }

  owner(kind: string, name: string, uid: string | undefined): OwnerRef {
    const key = `${kind}\u0000${name}\u0000${uid ?? ''}`;
    const pooled = this.owners.get(key);
    if (pooled !== undefined) return pooled;
    const owner: OwnerRef = Object.freeze({ kind: this.string(kind), name: this.string(name), uid });
    if (this.owners.size >= MAX_RECORDS) this.owners = new Map();
    this.owners.set(key, owner);
    return owner;
  }
}
