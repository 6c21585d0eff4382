import type { EvictionFacts, FactSource, PdbFacts, PodFacts } from '../domain';

/** Trimmed objects by namespace, then name: a decision touches one namespace, so lookups stay O(1) and O(namespace). */
export class NamespacedStore<T extends { namespace: string; name: string }> {
  private readonly byNamespace = new Map<string, Map<string, T>>();
  private count = 0;

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
    if (!names.has(item.name)) this.count++;
    names.set(item.name, item);
  }

  delete(namespace: string, name: string): boolean {
    const names = this.byNamespace.get(namespace);
    if (names === undefined || !names.delete(name)) return false;
    this.count--;
    if (names.size === 0) this.byNamespace.delete(namespace);
    return true;
  }

  inNamespace(namespace: string): T[] {
    const names = this.byNamespace.get(namespace);
    return names === undefined ? [] : [...names.values()];
  }
}

/** The pods and PDBs that decisions read, answering facts() from memory. */
export class ClusterIndex {
  constructor(
    readonly pods = new NamespacedStore<PodFacts>(),
    readonly pdbs = new NamespacedStore<PdbFacts>(),
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
