import type { EvictionFacts, FactSource, PdbFacts, PodFacts } from '../domain';

/** Secondary keys of pods: the node a pod runs on, for policies that count per node. */
export const podNodeKeys = (pod: PodFacts): readonly string[] => (pod.nodeName === undefined ? [] : [pod.nodeName]);

/** Secondary keys of PDBs: namespace/name of every pod in status.disruptedPods. */
export const disruptedPodKeys = (pdb: PdbFacts): readonly string[] => Object.keys(pdb.status.disruptedPods).map((name) => `${pdb.namespace}/${name}`);

/**
 * Trimmed objects by namespace, then name: a decision touches one namespace, so lookups stay O(1)
 * and O(namespace). A store may also index its objects by secondary keys (pods by node, PDBs by
 * the pods they record as disrupted), kept current as objects change, so that such lookups cost
 * O(answer), not O(cluster).
 */
export class NamespacedStore<T extends { namespace: string; name: string }> {
  private readonly byNamespace = new Map<string, Map<string, T>>();
  private readonly bySecondaryKey = new Map<string, Set<T>>();
  private count = 0;

  constructor(private readonly secondaryKeys?: (item: T) => readonly string[]) {}

  get size(): number {
    return this.count;
  }

  get(namespace: string, name: string): T | undefined {
    return this.byNamespace.get(namespace)?.get(name);
  }

  set(item: T): void {
    let names = this.byNamespace.get(item.namespace);
    if (names === undefined) {
      names = new Map();
      this.byNamespace.set(item.namespace, names);
    }
    const previous = names.get(item.name);
    if (previous === undefined) this.count++;
    else this.unindex(previous);
    names.set(item.name, item);
    this.index(item);
  }

  delete(namespace: string, name: string): boolean {
    const names = this.byNamespace.get(namespace);
    const item = names?.get(name);
    if (names === undefined || item === undefined) return false;
    names.delete(name);
    this.unindex(item);
    this.count--;
    if (names.size === 0) this.byNamespace.delete(namespace);
    return true;
  }

  /** Every object, namespace by namespace. */
  all(): T[] {
    const items: T[] = [];
    for (const names of this.byNamespace.values()) for (const item of names.values()) items.push(item);
    return items;
  }

  inNamespace(namespace: string): T[] {
    const names = this.byNamespace.get(namespace);
    return names === undefined ? [] : [...names.values()];
  }

  /** How many distinct secondary keys the objects have: 0 lets callers skip building keys. */
  get secondaryKeyCount(): number {
    return this.bySecondaryKey.size;
  }

  hasKey(key: string): boolean {
    return this.bySecondaryKey.has(key);
  }

  /** The objects with secondary key `key`; none when the store has no secondary keys. */
  withKey(key: string): T[] {
    const items = this.bySecondaryKey.get(key);
    return items === undefined ? [] : [...items];
  }

  private index(item: T): void {
    for (const key of this.secondaryKeys?.(item) ?? []) {
      let items = this.bySecondaryKey.get(key);
      if (items === undefined) {
        items = new Set();
        this.bySecondaryKey.set(key, items);
      }
      items.add(item);
    }
  }

  private unindex(item: T): void {
    for (const key of this.secondaryKeys?.(item) ?? []) {
      const items = this.bySecondaryKey.get(key);
      items?.delete(item);
      if (items?.size === 0) this.bySecondaryKey.delete(key);
    }
  }
}

/** The pods and PDBs that decisions read, answering facts() from memory. */
export class ClusterIndex {
  constructor(
    readonly pods = new NamespacedStore<PodFacts>(podNodeKeys),
    readonly pdbs = new NamespacedStore<PdbFacts>(disruptedPodKeys),
  ) {}

  pod(namespace: string, name: string): PodFacts | undefined {
    return this.pods.get(namespace, name);
  }

  pdbsInNamespace(namespace: string): PdbFacts[] {
    return this.pdbs.inNamespace(namespace);
  }

  podsInNamespace(namespace: string): PodFacts[] {
    return this.pods.inNamespace(namespace);
  }

  facts(namespace: string, podName: string, source: FactSource): EvictionFacts {
    return {
      pod: this.pod(namespace, podName),
      pdbs: this.pdbsInNamespace(namespace),
      podsInNamespace: () => this.podsInNamespace(namespace),
      source,
    };
  }
}
