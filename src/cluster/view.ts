import type { EvictionFacts, FactSource } from '../domain';
import type { ClusterInventory } from './inventory';

/** The logging a cluster source needs; a pino logger fits. */
export interface ClusterLogger {
  debug(details: object, message: string): void;
  info(details: object, message: string): void;
  warn(details: object, message: string): void;
  error(details: object, message: string): void;
}

/** Sync state of one watched resource, shown in /readyz details and logs. */
export interface ResourceSyncState {
  resource: string;
  synced: boolean;
  /** Objects currently held in the index. */
  count: number;
  restarts: number;
  lastError?: string;
}

export interface ClusterStatus {
  mode: 'live' | 'snapshot' | 'demo';
  synced: boolean;
  resources: ResourceSyncState[];
}

/**
 * Read access to the cluster state that decisions need. Two sources implement it: the live
 * source (watches through @kubernetes/client-node, trimmed index, live confirm reads) and the
 * snapshot source (a YAML/JSON file, or the built-in demo).
 */
export interface ClusterView {
  /** Start syncing. Resolves once started, not once synced; see isSynced(). */
  start(): Promise<void>;
  /** True once the initial list of every resource has been indexed. */
  isSynced(): boolean;
  status(): ClusterStatus;
  /**
   * Facts for an eviction of namespace/podName from the fastest source: the index, with the pod
   * read live when the index does not have it. Never throws for a missing pod (pod: undefined).
   */
  facts(namespace: string, podName: string): Promise<EvictionFacts>;
  /**
   * Facts read fresh from the API server (the pod and every PDB of its namespace), used to
   * confirm a deny that rests on cached state. Rejects when the API server cannot be read.
   * Sources without an API server return the same as facts().
   */
  confirm(namespace: string, podName: string): Promise<EvictionFacts>;
  /** Everything the source holds, for the tools that look at the whole cluster (check, lint, PDB guard). */
  inventory(): ClusterInventory;
  /** The source facts() reads from when the index has the pod. */
  readonly factSource: FactSource;
  stop(): Promise<void>;
}
