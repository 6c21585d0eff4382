import { setMaxListeners } from 'node:events';
import type { KubeConfig } from '@kubernetes/client-node';
import type { EvictionContext, EvictionFacts, NamespaceFacts, NodeFacts, PdbFacts, PodFacts, WorkloadFacts } from '../domain';
import { ApiError, getJson, releaseConnections } from './api';
import { evictionContext } from './context';
import { inventoryOf, type ClusterInventory } from './inventory';
import { disruptedPodKeys, podNodeKeys } from './index';
import { Interner } from './intern';
import { Reflector, type ReflectorEvents } from './reflector';
import { trimNamespace, trimNode, trimPdb, trimPod, trimWorkload, type Trimmed } from './trim';
import type { ClusterLogger, ClusterStatus, ClusterView } from './view';

export type ClusterHooks = ReflectorEvents;

export interface LiveClusterViewOptions {
  logger?: ClusterLogger;
  hooks?: ClusterHooks;
}

const silentLogger: ClusterLogger = { debug() {}, info() {}, warn() {}, error() {} };

function podPath(namespace: string, name: string): string {
  return `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(name)}`;
}

function pdbsPath(namespace: string): string {
  return `/apis/policy/v1/namespaces/${encodeURIComponent(namespace)}/poddisruptionbudgets`;
}

/** The owners policies resolve a pod to, watched under apps/v1. */
const WORKLOADS = [
  { kind: 'ReplicaSet', resource: 'replicasets' },
  { kind: 'Deployment', resource: 'deployments' },
  { kind: 'StatefulSet', resource: 'statefulsets' },
] as const;

/** Namespaces and Nodes are cluster-scoped; the store keys them under the empty namespace. */
type ClusterScoped<T> = T & { namespace: '' };

function clusterScoped<T extends object>(trimmed: Trimmed<T>): Trimmed<ClusterScoped<T>> {
  return 'error' in trimmed ? trimmed : { facts: { ...trimmed.facts, namespace: '' } };
}

/**
 * The cluster as the API server shows it: a trimmed index of every pod and PDB kept current by
 * list+watch, and live reads for pods the index does not have and for confirming a deny. The
 * ReplicaSets, Deployments, StatefulSets, namespaces and Nodes policies read are watched and trimmed too.
 */
export class LiveClusterView implements ClusterView {
  readonly factSource = 'cache' as const;
  private readonly interner = new Interner();
  private readonly pods: Reflector<PodFacts>;
  private readonly pdbs: Reflector<PdbFacts>;
  private readonly workloads: Map<string, Reflector<WorkloadFacts>>;
  private readonly namespaces: Reflector<ClusterScoped<NamespaceFacts>>;
  private readonly nodes: Reflector<ClusterScoped<NodeFacts>>;
  /** Every reflector; listed once, as isSynced() reads them on every decision. */
  private readonly reflectors: readonly Pick<Reflector<never>, 'start' | 'stop' | 'isSynced' | 'state'>[];
  /** Built once: it reads the reflectors' current stores on every call, so decisions allocate none. */
  private readonly indexed: ClusterInventory = inventoryOf({
    pods: () => this.pods.store,
    pdbs: () => this.pdbs.store,
    workloadKinds: WORKLOADS.map(({ kind }) => kind),
    workloads: (kind) => this.workloads.get(kind)?.store,
    namespace: (name) => this.namespaces.store.get('', name),
    node: (name) => this.nodes.store.get('', name),
  });
  /** Ends live reads still in flight when the view stops. */
  private readonly stopping = new AbortController();

  constructor(
    /** Public so that other watches (EvictionPolicies) use the same cluster and credentials. */
    readonly kubeConfig: KubeConfig,
    options: LiveClusterViewOptions = {},
  ) {
    const logger = options.logger ?? silentLogger;
    // Every live read in flight listens on this signal; concurrent denials would otherwise trip
    // Node's "possible EventTarget memory leak" warning at 11 listeners.
    setMaxListeners(0, this.stopping.signal);
    this.pods = new Reflector(
      kubeConfig,
      { resource: 'pods', path: '/api/v1/pods', trim: (raw) => trimPod(raw, this.interner), secondaryKeys: podNodeKeys },
      logger,
      options.hooks,
    );
    this.pdbs = new Reflector(
      kubeConfig,
      {
        resource: 'poddisruptionbudgets',
        path: '/apis/policy/v1/poddisruptionbudgets',
        trim: (raw) => trimPdb(raw, this.interner),
        secondaryKeys: disruptedPodKeys,
      },
      logger,
      options.hooks,
    );
    this.workloads = new Map(
      WORKLOADS.map(({ kind, resource }) => [
        kind,
        new Reflector(kubeConfig, { resource, path: `/apis/apps/v1/${resource}`, trim: (raw) => trimWorkload(kind, raw, this.interner) }, logger, options.hooks),
      ]),
    );
    this.namespaces = new Reflector(
      kubeConfig,
      { resource: 'namespaces', path: '/api/v1/namespaces', trim: (raw) => clusterScoped(trimNamespace(raw, this.interner)) },
      logger,
      options.hooks,
    );
    this.nodes = new Reflector(
      kubeConfig,
      { resource: 'nodes', path: '/api/v1/nodes', trim: (raw) => clusterScoped(trimNode(raw, this.interner)) },
      logger,
      options.hooks,
    );
    this.reflectors = [this.pods, this.pdbs, ...this.workloads.values(), this.namespaces, this.nodes];
  }


  async start(): Promise<void> {
    for (const reflector of this.reflectors) reflector.start();
  }

  isSynced(): boolean {
    return this.reflectors.every((reflector) => reflector.isSynced);
  }

  status(): ClusterStatus {
    return { mode: 'live', synced: this.isSynced(), resources: this.reflectors.map((reflector) => reflector.state()) };
  }

  /**
   * From the index when it has the pod. Otherwise (a pod created a moment ago, a pod that does not
   * exist, or an index still syncing) the pod and its namespace's PDBs are read live, so the
   * answer never mixes a live pod with cached PDBs.
   */
  async facts(namespace: string, podName: string): Promise<EvictionFacts> {
    if (this.isSynced()) {
      const pods = this.pods.store;
      const pod = pods.get(namespace, podName);
      if (pod !== undefined) {
        const pdbs = this.pdbs.store.inNamespace(namespace);
        const inventory = this.indexed;
        let context: EvictionContext | undefined;
        return {
          pod,
          pdbs,
          podsInNamespace: () => pods.inNamespace(namespace),
          source: 'cache',
          // Only policies read the context: built on first read, so a webhook without policies never builds it.
          get context() {
            return (context ??= evictionContext(pod, inventory, pdbs));
          },
        };
      }
    }
    return this.readLive(namespace, podName);
  }

  confirm(namespace: string, podName: string): Promise<EvictionFacts> {
    return this.readLive(namespace, podName);
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    await Promise.all(this.reflectors.map((reflector) => reflector.stop()));
    releaseConnections(this.kubeConfig);
  }

  /** The indexed objects, read through on every call (a relist swaps a store whole). */
  inventory(): ClusterInventory {
    return this.indexed;
  }

  private async readLive(namespace: string, podName: string): Promise<EvictionFacts> {
    const [pod, pdbs] = await Promise.all([this.readPod(namespace, podName), this.readPdbs(namespace)]);
    const pods = this.pods.store;
    const context = pod === undefined ? undefined : evictionContext(pod, this.inventory(), pdbs);
    return { pod, pdbs, podsInNamespace: () => pods.inNamespace(namespace), source: 'live', ...(context ? { context } : {}) };
  }

  private async readPod(namespace: string, name: string): Promise<PodFacts | undefined> {
    const path = podPath(namespace, name);
    let raw: unknown;
    try {
      raw = await getJson(this.kubeConfig, path, { signal: this.stopping.signal });
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) return undefined;
      throw error;
    }
    const trimmed = trimPod(raw, this.interner);
    if ('error' in trimmed) throw new ApiError(path, `unexpected answer: ${trimmed.error}`);
    return trimmed.facts;
  }

  private async readPdbs(namespace: string): Promise<PdbFacts[]> {
    const path = pdbsPath(namespace);
    const list = (await getJson(this.kubeConfig, path, { signal: this.stopping.signal })) as { items?: unknown };
    if (!Array.isArray(list?.items)) throw new ApiError(path, 'unexpected answer: not a list with items');
    const pdbs: PdbFacts[] = [];
    for (const item of list.items) {
      const trimmed = trimPdb(item, this.interner);
      if ('error' in trimmed) throw new ApiError(path, `unexpected answer: ${trimmed.error}`);
      pdbs.push(trimmed.facts);
    }
    return pdbs;
  }
}
