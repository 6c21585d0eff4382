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

  get size(): number {
    return this.current.size + this.previous.size;
  }

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

type Field = string | number | boolean | undefined;

/** A flat value (a condition, a volume, an owner reference): its fields hold strings, numbers, booleans or nothing. */
type FlatObject = Readonly<Record<string, Field>>;

/** The flat objects interned by type: interfaces such as PodCondition, whose fields are all flat. */
type Flat<T> = { readonly [K in keyof T]?: Field };

/**
 * A pool key of strings, as short as can be: joined by NUL, which labels, names and the interned
 * fields never hold (V8 hashes a native string key itself; a hash computed in JS took most of the
 * time of a trim). A string holding NUL, possible in an annotation value, makes the key JSON
 * instead, which never holds a raw NUL: the two forms cannot meet.
 */
function keyOfStrings(strings: readonly string[]): string {
  // Every joined key ends in NUL, even of one string: a JSON key never holds a raw one.
  return strings.some((text) => text.includes('\u0000')) ? JSON.stringify(strings) : `${strings.join('\u0000')}\u0000`;
}

/** The key of a flat object: the names of its fields, then their values, so that different shapes never match. */
function keyOfObject(value: FlatObject): string {
  const keys = Object.keys(value);
  const parts = [...keys];
  for (const key of keys) {
    const field = value[key];
    // Other values than strings are marked by a leading \u0001, so that 1 and '1' differ.
    if (typeof field !== 'string') parts.push(`\u0001${String(field)}`);
    else if (field.startsWith('\u0001')) return JSON.stringify(Object.entries(value)); // no NUL: never meets a joined key
    else parts.push(field);
  }
  return keyOfStrings(parts);
}

/** Values seen per annotation key before the key may count as one whose values are each object's own. */
const REPEATS_SAMPLE = 64;
/** Annotation keys followed; beyond, a new key's values are interned like any other. */
const MAX_FOLLOWED_KEYS = 4096;

/**
 * Which annotation keys carry a value of each object's own (the pod IP a CNI writes, a rollout's
 * per-pod hash): pooling such values and the records that hold them costs a pool entry per pod
 * and shares nothing. A key counts as per object once fewer than 1 in 8 of its values were seen
 * before; one value in REPEATS_SAMPLE is still looked up, so a key whose values start to repeat
 * is pooled again.
 */
class AnnotationRepeats {
  private readonly byKey = new Map<string, { seen: number; repeated: number }>();

  perObject(key: string): boolean {
    const counts = this.byKey.get(key);
    return counts !== undefined && counts.seen >= REPEATS_SAMPLE && counts.repeated * 8 < counts.seen && counts.seen % REPEATS_SAMPLE !== 0;
  }

  count(key: string, repeated: boolean): void {
    let counts = this.byKey.get(key);
    if (counts === undefined) {
      if (this.byKey.size >= MAX_FOLLOWED_KEYS) return;
      counts = { seen: 0, repeated: 0 };
      this.byKey.set(key, counts);
    }
    // Halving keeps the counts recent and small.
    if (counts.seen >= 1 << 16) {
      counts.seen >>= 1;
      counts.repeated >>= 1;
    }
    counts.seen++;
    if (repeated) counts.repeated++;
  }
}

/**
 * The keys of an annotation set in order, with the values objects share; each object keeps its
 * own values (in key order) for the keys `shared` lacks. Pods of a workload have one layout.
 */
export class AnnotationLayout {
  constructor(
    readonly shared: Readonly<Record<string, string>>,
    readonly keys: readonly string[],
  ) {}

  /** The whole record, in key order, of an object with these own values. */
  record(own: string | readonly string[]): Readonly<Record<string, string>> {
    const values = typeof own === 'string' ? [own] : own;
    const record: Record<string, string> = {};
    let next = 0;
    for (const key of this.keys) record[key] = Object.hasOwn(this.shared, key) ? this.shared[key] : values[next++];
    return Object.freeze(record);
  }

  /** One value of an object with these own values, without building its record. */
  value(own: string | readonly string[], key: string): string | undefined {
    if (Object.hasOwn(this.shared, key)) return this.shared[key];
    let next = 0;
    for (const each of this.keys) {
      if (Object.hasOwn(this.shared, each)) continue;
      if (each === key) return typeof own === 'string' ? own : own[next];
      next++;
    }
    return undefined;
  }
}

/** Annotations as the interner stores them: a pooled record, or a layout and the object's own values. */
export type Annotations = { layout?: undefined; values: Readonly<Record<string, string>> } | { layout: AnnotationLayout; values: string | readonly string[] };

/** The record of stored annotations. */
export const annotationRecord = ({ layout, values }: Annotations): Readonly<Record<string, string>> =>
  layout === undefined ? (values as Readonly<Record<string, string>>) : layout.record(values as string | readonly string[]);

/**
 * Shares repeated strings, identical label/annotation sets and identical flat objects and lists
 * (conditions, owner references, volumes, taints) between trimmed objects. Pods of one workload
 * carry the same labels, namespace, owner, node names and often the same conditions and volumes, so
 * a 100k-pod index holds each of those once instead of once per pod.
 */
export class Interner {
  private readonly strings = new Pool<string, string>(MAX_STRINGS);
  private readonly records = new Pool<string, Readonly<Record<string, string>>>(MAX_SHARED);
  private readonly objects = new Pool<string, FlatObject>(MAX_SHARED);
  private readonly lists = new Pool<string, readonly FlatObject[]>(MAX_SHARED);
  private readonly stringLists = new Pool<string, readonly string[]>(MAX_SHARED);
  private readonly keyed = new Pool<string, unknown>(MAX_KEYED);
  private readonly repeats = new AnnotationRepeats();
  private readonly layouts = new Pool<Readonly<Record<string, string>>, AnnotationLayout[]>(MAX_KEYED);
  private readonly anchored = new Pool<object, unknown[]>(MAX_KEYED);

  /** How many strings the pool holds now, both generations (for tests and diagnostics). */
  get pooledStrings(): number {
    return this.strings.size;
  }

  string(value: string): string {
    const pooled = this.strings.get(value);
    if (pooled !== undefined) return pooled;
    this.strings.set(value, value);
    return value;
  }

  /** A frozen, shared copy of a string map; the same entries in the same order give the same object. */
  record(entries: readonly (readonly [string, string])[]): Readonly<Record<string, string>> {
    if (entries.length === 0) return EMPTY_RECORD;
    return this.keyedIn(this.records, keyOfStrings(entries.flat()), () => {
      const record: Record<string, string> = {};
      for (const [name, value] of entries) record[this.string(name)] = this.string(value);
      return Object.freeze(record);
    });
  }

  /**
   * As record(), for annotations: the values of keys that carry each object's own value (see
   * AnnotationRepeats) are kept apart, unpooled, next to a shared layout holding the rest.
   */
  annotations(entries: readonly (readonly [string, string])[]): Annotations {
    const perObject = entries.map(([name]) => this.repeats.perObject(name));
    for (const [name, value] of entries) this.repeats.count(name, this.strings.get(value) !== undefined);
    if (!perObject.includes(true)) return { values: this.record(entries) };
    const shared = this.record(entries.filter((_, i) => !perObject[i]));
    const keys = entries.map(([name]) => name);
    const candidates = this.layouts.get(shared) ?? [];
    let layout = candidates.find((candidate) => candidate.keys.length === keys.length && candidate.keys.every((key, i) => key === keys[i]));
    if (layout === undefined) {
      layout = new AnnotationLayout(shared, this.stringList(keys));
      this.layouts.set(shared, [...candidates, layout]);
    }
    const own = entries.filter((_, i) => perObject[i]).map(([, value]) => value);
    return { layout, values: own.length === 1 ? own[0] : Object.freeze(own) };
  }

  /** A frozen, shared list of strings (volume sources, annotation keys): workloads alike share one. */
  stringList(list: readonly string[]): readonly string[] {
    if (list.length === 0) return EMPTY_LIST;
    return this.keyedIn(this.stringLists, keyOfStrings(list), () => Object.freeze(list.map((text) => this.string(text))));
  }

  /** A frozen, shared copy of a flat object (its strings interned): the same fields in the same order give the same object. */
  object<T extends Flat<T>>(value: T): T {
    const flat = value as FlatObject;
    return this.keyedIn(this.objects, keyOfObject(flat), () => {
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
    return this.keyedIn(this.lists, JSON.stringify(flat.map(keyOfObject)), () => Object.freeze(flat.map((item) => this.object(item)))) as unknown as readonly T[];
  }

  /**
   * The pooled value under `key`, else `make()`, pooled. For values few and short to name (a pod
   * profile, a timing template): the key is a native string, which V8 hashes itself.
   */
  keyedBy<V>(key: string, make: () => V): V {
    return this.keyedIn(this.keyed as Pool<string, V>, key, make);
  }

  /**
   * The pooled value `same` as `value` among those made for `anchor` (an interned object they
   * share, such as the pods' owner), else `make()`, pooled: a key by identity, where a string
   * naming the whole value would be as long as the value.
   */
  anchoredTo<V>(anchor: object, same: (pooled: V) => boolean, make: () => V): V {
    const candidates = (this.anchored.get(anchor) ?? []) as V[];
    const found = candidates.find(same);
    if (found !== undefined) return found;
    const value = make();
    this.anchored.set(anchor, [...candidates, value]);
    return value;
  }

  private keyedIn<V>(pool: Pool<string, V>, key: string, make: () => V): V {
    const pooled = pool.get(key);
    if (pooled !== undefined) return pooled;
    const value = make();
    pool.set(key, value);
    return value;
  }

  owner(kind: string, name: string, uid: string | undefined): OwnerRef {
    return this.object({ kind, name, uid });
  }
}
