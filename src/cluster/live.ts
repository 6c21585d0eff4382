import type { KubeConfig } from '@kubernetes/client-node';
import type { EvictionFacts, PdbFacts, PodFacts } from '../domain';
import { ApiError, getJson } from './api';
import { ClusterIndex } from './index';
import { Interner } from './intern';
import { Reflector, type ReflectorEvents } from './reflector';
import { trimPdb, trimPod } from './trim';
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

/**
 * The cluster as the API server shows it: a trimmed index of every pod and PDB kept current by
 * list+watch, and live reads for pods the index does not have and for confirming a deny.
 */
export class LiveClusterView implements ClusterView {
  readonly factSource = 'cache' as const;
  private readonly interner = new Interner();
  private readonly pods: Reflector<PodFacts>;
  private readonly pdbs: Reflector<PdbFacts>;
  /** Ends live reads still in flight when the view stops. */
  private readonly stopping = new AbortController();

  constructor(
    private readonly kubeConfig: KubeConfig,
    options: LiveClusterViewOptions = {},
  ) {
    const logger = options.logger ?? silentLogger;
    this.pods = new Reflector(
      kubeConfig,
      { resource: 'pods', path: '/api/v1/pods', trim: (raw) => trimPod(raw, this.interner) },
      logger,
      options.hooks,
    );
    this.pdbs = new Reflector(
      kubeConfig,
      { resource: 'poddisruptionbudgets', path: '/apis/policy/v1/poddisruptionbudgets', trim: (raw) => trimPdb(raw, this.interner) },
      logger,
      options.hooks,
    );
  }

  async start(): Promise<void> {
    this.pods.start();
    this.pdbs.start();
  }

  isSynced(): boolean {
    return this.pods.isSynced && this.pdbs.isSynced;
  }

  status(): ClusterStatus {
    return { mode: 'live', synced: this.isSynced(), resources: [this.pods.state(), this.pdbs.state()] };
  }

  /**
   * From the index when it has the pod. Otherwise (a pod created a moment ago, a pod that does not
   * exist, or an index still syncing) the pod and its namespace's PDBs are read live, so the
   * answer never mixes a live pod with cached PDBs.
   */
  async facts(namespace: string, podName: string): Promise<EvictionFacts> {
    if (this.isSynced()) {
      const index = new ClusterIndex(this.pods.store, this.pdbs.store);
      if (index.pod(namespace, podName) !== undefined) return index.facts(namespace, podName, 'cache');
    }
    return this.readLive(namespace, podName);
  }

  confirm(namespace: string, podName: string): Promise<EvictionFacts> {
    return this.readLive(namespace, podName);
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    await Promise.all([this.pods.stop(), this.pdbs.stop()]);
  }

  private async readLive(namespace: string, podName: string): Promise<EvictionFacts> {
    const [pod, pdbs] = await Promise.all([this.readPod(namespace, podName), this.readPdbs(namespace)]);
    const pods = this.pods.store;
    return { pod, pdbs, podsInNamespace: () => pods.inNamespace(namespace), source: 'live' };
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
