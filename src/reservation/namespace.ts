// The namespace the webhook runs in, where its reservation Leases live.
import { readFileSync } from 'node:fs';
import type { KubeConfig } from '@kubernetes/client-node';

/** Where the kubelet mounts the pod's service account; `namespace` names the pod's namespace. */
export const SERVICE_ACCOUNT_NAMESPACE_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

export interface NamespaceSources {
  /** `--reservation-namespace`. */
  flag?: string;
  /** POD_NAMESPACE, set from the downward API (metadata.namespace) by the manifests and the chart. */
  env: NodeJS.ProcessEnv;
  namespaceFile?: string;
  /** Outside a cluster: the namespace of the kubeconfig's current context, as kubectl uses it. */
  kubeConfig?: KubeConfig;
}

export interface WebhookNamespace {
  namespace: string;
  /** Where it came from, for the start-up log. */
  from: string;
}

function readNamespaceFile(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/** The flag, POD_NAMESPACE, the service account's namespace, the kubeconfig context's namespace, else `default`. */
export function webhookNamespace(sources: NamespaceSources): WebhookNamespace {
  if (sources.flag !== undefined) return { namespace: sources.flag, from: '--reservation-namespace' };
  const fromEnv = sources.env.POD_NAMESPACE?.trim();
  if (fromEnv) return { namespace: fromEnv, from: 'POD_NAMESPACE' };
  const file = sources.namespaceFile ?? SERVICE_ACCOUNT_NAMESPACE_FILE;
  const fromFile = readNamespaceFile(file);
  if (fromFile !== undefined) return { namespace: fromFile, from: file };
  const kubeConfig = sources.kubeConfig;
  const fromContext = kubeConfig?.getContextObject(kubeConfig.getCurrentContext())?.namespace;
  if (fromContext) return { namespace: fromContext, from: 'the kubeconfig context' };
  return { namespace: 'default', from: 'the default' };
}
