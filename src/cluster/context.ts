// The pod's surroundings that policies read (EvictionContext), resolved from whatever a cluster
// source holds: the owning workload through ReplicaSet → Deployment, the namespace, and the pods
// that share the pod's owner, namespace or node. Pure: the source passes its lookups in.
import type {
  DisruptionScope,
  EvictionContext,
  EvictionFacts,
  NamespaceFacts,
  NodeFacts,
  OwnerFacts,
  OwnerRef,
  PdbFacts,
  PodFacts,
  WorkloadFacts,
} from '../domain';

/** Read access to a source's trimmed objects. */
export interface ClusterLookups {
  /** A ReplicaSet, Deployment or StatefulSet; undefined for other kinds or when not held. */
  workload(kind: string, namespace: string, name: string): WorkloadFacts | undefined;
  namespace(name: string): NamespaceFacts | undefined;
  node(name: string): NodeFacts | undefined;
  podsInNamespace(namespace: string): readonly PodFacts[];
  /** The pods on a node, in every namespace. */
  podsOnNode(nodeName: string): readonly PodFacts[];
  /** A PDB lists the pod in status.disruptedPods. */
  isRecordedDisruption(pod: PodFacts): boolean;
}

const isRunningOrPending = (pod: PodFacts) => pod.phase !== 'Succeeded' && pod.phase !== 'Failed';

/** The controller at the top of a pod's chain: the Deployment of a ReplicaSet it owns, else the pod's own controller. */
function topController(pod: PodFacts, lookups: ClusterLookups): OwnerRef | undefined {
  const controller = pod.owner;
  if (controller?.kind === 'ReplicaSet') {
    const replicaSet = lookups.workload('ReplicaSet', pod.namespace, controller.name);
    if (replicaSet?.owner?.kind === 'Deployment') return replicaSet.owner;
  }
  return controller;
}

function withPod(pods: readonly PodFacts[], pod: PodFacts): readonly PodFacts[] {
  // A pod read live a moment after its creation may not be in the index yet. Facts from the index
  // hold the indexed object itself, found without comparing names.
  const isHeld = pods.includes(pod) || pods.some((other) => other.namespace === pod.namespace && other.name === pod.name);
  return isHeld ? pods : [...pods, pod];
}

/**
 * The context of an eviction of `pod`. `podNamespacePdbs` are the PDBs the decision uses for the
 * pod's namespace (read live when the pod was), so that both agree on disruptedPods.
 */
export function evictionContext(pod: PodFacts, lookups: ClusterLookups, podNamespacePdbs: readonly PdbFacts[]): EvictionContext {
  // Each part on first read: without policies only the namespace is read (the protect annotation).
  let top: OwnerRef | undefined | null = null; // null: not looked up yet
  const topOnce = () => (top === null ? (top = topController(pod, lookups)) : top);
  let peers: Map<DisruptionScope, readonly PodFacts[]> | undefined;
  let ownNamespaceDisruptions: ReadonlySet<string> | undefined;

  const peersOf = (scope: DisruptionScope): readonly PodFacts[] => {
    peers ??= new Map();
    let pods = peers.get(scope);
    if (pods !== undefined) return pods;
    const controller = scope === 'owner' ? topOnce() : undefined;
    if (scope === 'namespace') {
      pods = withPod(lookups.podsInNamespace(pod.namespace), pod);
    } else if (scope === 'node') {
      const node = pod.nodeName;
      pods = node === undefined ? [] : withPod(lookups.podsOnNode(node), pod);
    } else if (controller === undefined) {
      pods = [pod];
    } else {
      const sameOwner = lookups.podsInNamespace(pod.namespace).filter((other) => {
        const otherTop = topController(other, lookups);
        return otherTop?.kind === controller.kind && otherTop.name === controller.name;
      });
      pods = withPod(sameOwner, pod);
    }
    peers.set(scope, pods);
    return pods;
  };

  let owner: OwnerFacts | undefined;
  return {
    namespace: lookups.namespace(pod.namespace),
    get node() {
      return pod.nodeName === undefined ? undefined : lookups.node(pod.nodeName);
    },
    // On first read: counting a controller's pods reads the whole namespace, and only policies
    // with replica or owner rules ask for the owner.
    get owner() {
      return (owner ??= ownerFacts(pod, topOnce(), lookups, () => peersOf('owner')));
    },
    peers: peersOf,
    isRecordedDisruption: (other) => {
      if (other.namespace !== pod.namespace) return lookups.isRecordedDisruption(other);
      ownNamespaceDisruptions ??= new Set(podNamespacePdbs.flatMap((pdb) => Object.keys(pdb.status.disruptedPods)));
      return ownNamespaceDisruptions.has(other.name);
    },
  };
}

function ownerFacts(pod: PodFacts, top: OwnerRef | undefined, lookups: ClusterLookups, ownedPods: () => readonly PodFacts[]): OwnerFacts {
  if (top === undefined) return { kind: 'Pod', name: pod.name, replicas: 1, readyReplicas: pod.ready ? 1 : 0, replicasFrom: 'pods' };
  const workload = lookups.workload(top.kind, pod.namespace, top.name);
  if (workload !== undefined) {
    return { kind: top.kind, name: top.name, replicas: workload.replicas, readyReplicas: workload.readyReplicas, replicasFrom: 'spec' };
  }
  // DaemonSets, Jobs and operators' own controllers have no spec.replicas we hold: count their pods.
  const pods = ownedPods().filter(isRunningOrPending);
  return { kind: top.kind, name: top.name, replicas: pods.length, readyReplicas: pods.filter((other) => other.ready).length, replicasFrom: 'pods' };
}

/**
 * A context from the facts alone, for sources that hold nothing more: no workloads (replicas are
 * counted from pods), no namespace labels, no nodes, and only the pod's namespace for the pods of its node.
 */
export function contextFromFacts(pod: PodFacts, facts: EvictionFacts): EvictionContext {
  const inPodNamespace = <T>(namespace: string, items: () => readonly T[]): readonly T[] => (namespace === pod.namespace ? items() : []);
  return evictionContext(
    pod,
    {
      workload: () => undefined,
      namespace: () => undefined,
      node: () => undefined,
      podsInNamespace: (namespace) => inPodNamespace(namespace, facts.podsInNamespace),
      podsOnNode: (node) => facts.podsInNamespace().filter((other) => other.nodeName === node),
      // Only the PDBs of the pod's namespace are known, and those the context reads itself.
      isRecordedDisruption: () => false,
    },
    facts.pdbs,
  );
}
