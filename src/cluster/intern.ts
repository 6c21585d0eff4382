import type { OwnerRef } from '../domain';

/**
 * Pool sizes after which a pool starts a new generation. Interning only saves memory, so dropping
 * a generation costs at most some duplicates; the bound keeps churning values (pod-template-hash,
 * per-pod annotations and volume names) from growing a pool for ever.
 */
const MAX_STRINGS = 100_000;
const MAX_SHARED = 50_000;
/** Profiles and timing templates: one per workload and rollout pattern, named by a key of some 100 bytes. */
const MAX_KEYED = 20_000;

const EMPTY_RECORD: Readonly<Record<string, string>> = Object.freeze({});
const EMPTY_LIST: readonly never[] = Object.freeze([]);

/**
 * A bounded pool in two generations: a value found in the older one moves to the current one, so
 * values that keep coming back (a namespace name, the labels of a big Deployment) survive the
 * turnover that values seen once per pod (a pod IP annotation) cause.
 */
class Pool<K, V> {
  private current = new Map<K, V>();
  private previous = new Map<K, V>();

  constructor(private readonly capacity: number) {}

  get(key: K): V | undefined {
    const found = this.current.get(key);
    if (found !== undefined) return found;
    const older = this.previous.get(key);
    if (older !== undefined) this.set(key, older);
    return older;
  }

  set(key: K, value: V): void {
    if (this.current.size >= this.capacity) {
      this.previous = this.current;
      this.current = new Map();
    }
    this.current.set(key, value);
  }
}

/** A 32-bit FNV-1a hash of strings, so that pools of long values key on a number, not on a copy of the value. */
function hashStrings(strings: readonly string[]): number {
  let hash = 0x811c9dc5;
  for (const text of strings) {
    for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
    hash = Math.imul(hash ^ 0xffff, 0x01000193);
  }
  return hash | 0;
}

const sameStrings = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((text, i) => text === b[i]);

type Field = string | number | boolean | undefined;

/** A flat value (a condition, a volume, an owner reference): its fields hold strings, numbers, booleans or nothing. */
type FlatObject = Readonly<Record<string, Field>>;

/** The flat objects interned by type: interfaces such as PodCondition, whose fields are all flat. */
type Flat<T> = { readonly [K in keyof T]?: Field };

/** The strings that identify a flat object: its keys and values, so that different shapes never match. */
function partsOfObject(value: FlatObject, parts: string[] = []): string[] {
  for (const key of Object.keys(value)) {
    const field = value[key];
    parts.push(key, field === undefined ? '\u0000' : typeof field === 'string' ? field : `\u0001${String(field)}`);
  }
  return parts;
}

function partsOfList(list: readonly FlatObject[]): string[] {
  const parts: string[] = [];
  for (const item of list) {
    parts.push(String(Object.keys(item).length));
    partsOfObject(item, parts);
  }
  return parts;
}

/** The values of one pool bucket whose parts hash alike: rare, so the common bucket is the value itself. */
class Collisions<V> {
  constructor(readonly values: readonly V[]) {}
}

/**
 * Values pooled by the strings that make them up: a hash picks a bucket and the pooled value's own
 * strings decide, so the pool keeps no copy of a long value, only the value.
 */
class ContentPool<V> {
  private readonly pool: Pool<number, V | Collisions<V>>;

  constructor(
    capacity: number,
    private readonly partsOf: (value: V) => readonly string[],
  ) {
    this.pool = new Pool(capacity);
  }

  /** The pooled value with these parts, else `make()`, pooled. */
  shared(parts: readonly string[], make: () => V): V {
    const hash = hashStrings(parts);
    const bucket = this.pool.get(hash);
    const candidates = bucket === undefined ? [] : bucket instanceof Collisions ? bucket.values : [bucket];
    for (const candidate of candidates) if (sameStrings(this.partsOf(candidate), parts)) return candidate;
    const value = make();
    this.pool.set(hash, candidates.length === 0 ? value : new Collisions([...candidates, value]));
    return value;
  }
}

/**
 * Shares repeated strings, identical label/annotation sets and identical flat objects and lists
 * (conditions, owner references, volumes, taints) between trimmed objects. Pods of one workload
 * carry the same labels, namespace, owner, node names and often the same conditions and volumes, so
 * a 100k-pod index holds each of those once instead of once per pod.
 */
export class Interner {
  private readonly strings = new Pool<string, string>(MAX_STRINGS);
  private readonly records = new ContentPool<Readonly<Record<string, string>>>(MAX_SHARED, (record) => Object.entries(record).flat());
  private readonly objects = new ContentPool<FlatObject>(MAX_SHARED, (value) => partsOfObject(value));
  private readonly lists = new ContentPool<readonly FlatObject[]>(MAX_SHARED, partsOfList);
  private readonly keyed = new Pool<string, unknown>(MAX_KEYED);

  string(value: string): string {
    const pooled = this.strings.get(value);
    if (pooled !== undefined) return pooled;
    this.strings.set(value, value);
    return value;
  }

  /** A frozen, shared copy of a string map; the same entries in the same order give the same object. */
  record(entries: readonly (readonly [string, string])[]): Readonly<Record<string, string>> {
    if (entries.length === 0) return EMPTY_RECORD;
    return this.records.shared(entries.flat(), () => {
      const record: Record<string, string> = {};
      for (const [name, value] of entries) record[this.string(name)] = this.string(value);
      return Object.freeze(record);
    });
  }

  /** A frozen, shared copy of a flat object (its strings interned): the same fields in the same order give the same object. */
  object<T extends Flat<T>>(value: T): T {
    const flat = value as FlatObject;
    return this.objects.shared(partsOfObject(flat), () => {
      const copy: Record<string, Field> = {};
      for (const key of Object.keys(flat)) {
        const field = flat[key];
        copy[this.string(key)] = typeof field === 'string' ? this.string(field) : field;
      }
      return Object.freeze(copy);
    }) as T;
  }

  /** A frozen, shared list of shared flat objects: the same items in the same order give the same list. */
  list<T extends Flat<T>>(items: readonly T[]): readonly T[] {
    if (items.length === 0) return EMPTY_LIST;
    const flat = items as readonly FlatObject[];
    return this.lists.shared(partsOfList(flat), () => Object.freeze(flat.map((item) => this.object(item)))) as unknown as readonly T[];
  }

  /**
   * The pooled value under `key`, else `make()`, pooled. For values few and short to name (a pod
   * profile, a timing template): the key is a native string, which V8 hashes itself.
   */
  keyedBy<V>(key: string, make: () => V): V {
    const pooled = this.keyed.get(key);
    if (pooled !== undefined) return pooled as V;
    const value = make();
    this.keyed.set(key, value);
    return value;
  }

  owner(kind: string, name: string, uid: string | undefined): OwnerRef {
    return this.object({ kind, name, uid });
  }
}
