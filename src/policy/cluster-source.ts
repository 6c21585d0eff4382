// EvictionPolicies from the cluster: a list+watch of the cluster-scoped CRD objects, fed to the
// registry on every change. Until the CRD is installed the list answers 404; the reflector keeps
// retrying with backoff, the cluster contributes no policies, and readiness does not wait for it.
import type { KubeConfig } from '@kubernetes/client-node';
import { Reflector, type ReflectorEvents } from '../cluster/reflector';
import type { Trimmed } from '../cluster/trim';
import type { ClusterLogger, ResourceSyncState } from '../cluster/view';
import type { PolicyDocument } from './load';
import type { PolicyRegistry } from './registry';
import { POLICY_API_VERSION, POLICY_KIND } from './schema';

export const EVICTION_POLICIES_PATH = `/apis/${POLICY_API_VERSION}/evictionpolicies`;
const CRD_MISSING_HINT = 'the EvictionPolicy CRD is not installed (manifests/); the cluster contributes no policies until it is';

interface StoredPolicy {
  namespace: string;
  name: string;
  document: PolicyDocument;
}

/**
 * Keeps what validation reads; status, managedFields and the like are dropped. Items of a list
 * may leave out kind and apiVersion; the path they came from says what they are.
 */
export function trimEvictionPolicy(raw: unknown): Trimmed<StoredPolicy> {
  const object = (raw ?? {}) as { metadata?: { name?: unknown }; spec?: unknown };
  const name = object.metadata?.name;
  if (typeof name !== 'string' || name === '') return { error: 'EvictionPolicy has no metadata.name' };
  return {
    facts: {
      namespace: '',
      name,
      document: { raw: { apiVersion: POLICY_API_VERSION, kind: POLICY_KIND, metadata: { name }, spec: object.spec }, origin: 'cluster' },
    },
  };
}

export class ClusterPolicySource {
  private readonly reflector: Reflector<StoredPolicy>;

  constructor(kubeConfig: KubeConfig, registry: PolicyRegistry, logger: ClusterLogger, hooks: ReflectorEvents = {}) {
    this.reflector = new Reflector(kubeConfig, { resource: 'evictionpolicies', path: EVICTION_POLICIES_PATH, trim: trimEvictionPolicy }, logger, {
      onWatchRestart: hooks.onWatchRestart,
      // Cluster-scoped objects sit under the empty namespace.
      onChange: () => registry.update('cluster', { documents: this.reflector.store.inNamespace('').map((stored) => stored.document), errors: [] }),
    });
  }

  start(): void {
    this.reflector.start();
  }

  state(): ResourceSyncState & { hint?: string } {
    const state = this.reflector.state();
    return !state.synced && state.lastError?.includes('HTTP 404') ? { ...state, hint: CRD_MISSING_HINT } : state;
  }

  stop(): Promise<void> {
    return this.reflector.stop();
  }
}
