// The policies of a running webhook: loaded from `--policy` paths and reloaded when they change,
// watched from the cluster in live mode, and checked against each eviction with the `--mode`
// ceiling. Nothing a policy says can stop the server: bad policies are reported and left out.
import type { KubeConfig } from '@kubernetes/client-node';
import type { ReflectorEvents } from '../cluster/reflector';
import type { ClusterLogger, ResourceSyncState } from '../cluster/view';
import type { EvictionAttempt, EvictionFacts } from '../domain';
import { ClusterPolicySource } from './cluster-source';
import { evaluatePolicies, type EnforcementMode, type PolicyCheckOptions, type PolicyEvaluation } from './engine';
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

/** What a caller tells the policies beyond the facts: reads and writes that failed (see PolicyCheckOptions). */
export type PolicyCheckInputs = Pick<PolicyCheckOptions, 'unconfirmed' | 'unreserved'>;

export interface PolicyService {
  /** Policy findings for decide(), and the slots counting rules claim. */
  evaluate(attempt: EvictionAttempt, facts: EvictionFacts, inputs?: PolicyCheckInputs): PolicyEvaluation;
  status(): PolicyServiceStatus;
  close(): Promise<void>;
}

/**
 * The check of the policies `registry` holds, under `mode`, at the time `clock` tells: the wall
 * clock in the webhook, a suite's fixed time in `eviction-guard test`.
 */
export function registryPolicyCheck(registry: PolicyRegistry, mode: EnforcementMode, clock: () => Date = () => new Date()): PolicyService['evaluate'] {
  return (attempt, facts, inputs) => evaluatePolicies(facts.pod === undefined ? [] : registry.candidates(facts.pod), attempt, facts, { now: clock(), mode, ...inputs });
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
    evaluate: registryPolicyCheck(registry, mode),
    status: () => ({ mode, files: [...paths], ...registry.status(), ...(cluster ? { cluster: cluster.state() } : {}) }),
    close: async () => {
      fileWatch?.close();
      await cluster?.stop();
    },
  };
}
