// Whole-cluster read access for the tools that look at more than one eviction: the drain preflight
// (`check`), `lint` and the PDB admission guard. Both cluster sources answer it from the stores
// they already keep, so the tools see exactly what the webhook decides from.
import type { NamespaceFacts, NodeFacts, PdbFacts, PodFacts, WorkloadFacts } from '../domain';
import type { ClusterLookups } from './context';
import { disruptedPodKeys, NamespacedStore, podNodeKeys } from './index';

export interface ClusterInventory extends ClusterLookups {
  pods(): readonly PodFacts[];
  pdbs(): readonly PdbFacts[];
  pdbsInNamespace(namespace: string): readonly PdbFacts[];
  /** The ReplicaSets, Deployments and StatefulSets held. */
  workloads(): readonly WorkloadFacts[];
  workloadsInNamespace(namespace: string): readonly WorkloadFacts[];
}

/** The stores behind an inventory, read on every call: a relist swaps a live store whole. */
export interface InventoryStores {
  pods(): NamespacedStore<PodFacts>;
  pdbs(): NamespacedStore<PdbFacts>;
  workloadKinds: readonly string[];
  workloads(kind: string): NamespacedStore<WorkloadFacts> | undefined;
  namespace(name: string): NamespaceFacts | undefined;
  node(name: string): NodeFacts | undefined;
}

export function inventoryOf(stores: InventoryStores): ClusterInventory {
  return {
    pods: () => stores.pods().all(),
    pdbs: () => stores.pdbs().all(),
    pdbsInNamespace: (namespace) => stores.pdbs().inNamespace(namespace),
    workloads: () => stores.workloadKinds.flatMap((kind) => stores.workloads(kind)?.all() ?? []),
    workloadsInNamespace: (namespace) => stores.workloadKinds.flatMap((kind) => stores.workloads(kind)?.inNamespace(namespace) ?? []),
    workload: (kind, namespace, name) => stores.workloads(kind)?.get(namespace, name),
    namespace: (name) => stores.namespace(name),
    node: (name) => stores.node(name),
    podsInNamespace: (namespace) => stores.pods().inNamespace(namespace),
    podsOnNode: (node) => stores.pods().withKey(node),
    isRecordedDisruption: (pod) => {
      const pdbs = stores.pdbs();
      return pdbs.secondaryKeyCount > 0 && pdbs.hasKey(`${pod.namespace}/${pod.name}`);
    },
  };
}

export interface InventoryContents {
  pods?: readonly PodFacts[];
  pdbs?: readonly PdbFacts[];
  workloads?: readonly WorkloadFacts[];
  namespaces?: readonly NamespaceFacts[];
  nodes?: readonly NodeFacts[];
}

/** An inventory of objects already in memory (built by the PDB guard around a candidate PDB, and by tests). */
export function memoryInventory(contents: InventoryContents): ClusterInventory {
  const pods = new NamespacedStore<PodFacts>(podNodeKeys);
  const pdbs = new NamespacedStore<PdbFacts>(disruptedPodKeys);
  const workloads = new Map<string, NamespacedStore<WorkloadFacts>>();
  for (const pod of contents.pods ?? []) pods.set(pod);
  for (const pdb of contents.pdbs ?? []) pdbs.set(pdb);
  for (const workload of contents.workloads ?? []) {
    let store = workloads.get(workload.kind);
    if (store === undefined) workloads.set(workload.kind, (store = new NamespacedStore()));
    store.set(workload);
  }
  const namespaces = new Map((contents.namespaces ?? []).map((namespace) => [namespace.name, namespace]));
  const nodes = new Map((contents.nodes ?? []).map((node) => [node.name, node]));
  return inventoryOf({
    pods: () => pods,
    pdbs: () => pdbs,
    workloadKinds: [...workloads.keys()],
    workloads: (kind) => workloads.get(kind),
    namespace: (name) => namespaces.get(name),
    node: (name) => nodes.get(name),
  });
}
