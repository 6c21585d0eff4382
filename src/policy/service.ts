// The policies of a running webhook: loaded from `--policy` paths and reloaded when they change,
// watched from the cluster in live mode, and checked against each eviction with the `--mode`
// ceiling. Nothing a policy says can stop the server: bad policies are reported and left out.
import type { KubeConfig } from '@kubernetes/client-node';
import type { ReflectorEvents } from '../cluster/reflector';
import type { ClusterLogger, ResourceSyncState } from '../cluster/view';
import type { EvictionAttempt, EvictionFacts, Finding } from '../domain';
import { ClusterPolicySource } from './cluster-source';
import { policyFindings, type EnforcementMode } from './engine';
import { loadPolicyFiles } from './load';
import { PolicyRegistry, type PolicyStatus } from './registry';
import { watchPolicyPaths, type PolicyFileWatch } from './watch-files';

export interface PolicyServiceOptions {
  /** `--policy` files and folders. */
  paths: readonly string[];
  mode: EnforcementMode;
  /** In live mode: watch EvictionPolicy objects of this cluster. */
  kubeConfig?: KubeConfig;
  logger: ClusterLogger;
  hooks?: ReflectorEvents;
  /** File reload debounce (tests). */
  reloadDebounceMs?: number;
}

/** What /readyz shows under `policies`. */
export interface PolicyServiceStatus extends PolicyStatus {
  mode: EnforcementMode;
  files: string[];
  cluster?: ResourceSyncState & { hint?: string };
}

export interface PolicyService {
  /**
   * Policy findings for decide(). `unconfirmed` is the error of a failed live read that should
   * have confirmed a denial from cached state (see PolicyCheckOptions).
   */
  findings(attempt: EvictionAttempt, facts: EvictionFacts, unconfirmed?: string): Finding[];
  status(): PolicyServiceStatus;
  close(): Promise<void>;
}

export function startPolicyService(options: PolicyServiceOptions): PolicyService {
  const { paths, mode, logger } = options;
  const registry = new PolicyRegistry(logger);
  const reloadFiles = () => registry.update('files', loadPolicyFiles(paths));
  reloadFiles();
  const fileWatch: PolicyFileWatch | undefined = paths.length > 0 ? watchPolicyPaths(paths, reloadFiles, logger, options.reloadDebounceMs) : undefined;
  const cluster = options.kubeConfig === undefined ? undefined : new ClusterPolicySource(options.kubeConfig, registry, logger, options.hooks);
  cluster?.start();

  return {
    findings: (attempt, facts, unconfirmed) => policyFindings(registry.current(), attempt, facts, { now: new Date(), mode, unconfirmed }),
    status: () => ({ mode, files: [...paths], ...registry.status(), ...(cluster ? { cluster: cluster.state() } : {}) }),
    close: async () => {
      fileWatch?.close();
      await cluster?.stop();
    },
  };
}
