import { KubeConfig } from '@kubernetes/client-node';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describeError } from './errors';

/** A kubeconfig that was asked for (or found) but cannot be used. */
export class KubeConfigError extends Error {
  override readonly name = 'KubeConfigError';
}

export interface KubeConfigLocations {
  /** Home directory holding .kube/config; os.homedir() by default. */
  homeDir?: string;
  /** Prefix before /var/run/secrets/kubernetes.io/serviceaccount, for tests; '' by default. */
  serviceAccountRoot?: string;
}

const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

function loadFile(config: KubeConfig, file: string): void {
  try {
    config.loadFromFile(file);
  } catch (error) {
    throw new KubeConfigError(`cannot use kubeconfig ${file}: ${describeError(error)}`);
  }
}

function requireCurrentCluster(config: KubeConfig, origin: string): KubeConfig {
  if (config.getCurrentCluster() === null) {
    throw new KubeConfigError(`kubeconfig ${origin} has no current context with a cluster: set current-context`);
  }
  return config;
}

/** kubectl's merge of $KUBECONFIG files: the first file that sets a name or the current context wins. */
function mergeFirstWins(config: KubeConfig, more: KubeConfig): void {
  if (!config.currentContext) config.currentContext = more.currentContext;
  for (const cluster of more.clusters) if (config.getCluster(cluster.name) === null) config.addCluster(cluster);
  for (const user of more.users) if (config.getUser(user.name) === null) config.addUser(user);
  for (const context of more.contexts) if (config.getContextObject(context.name) === null) config.addContext(context);
}

/**
 * The cluster to watch, in the order kubectl users expect: --kubeconfig FILE (which must work),
 * then the in-cluster service account, then $KUBECONFIG or ~/.kube/config when present.
 * Undefined when there is none, and the caller serves the demo. A config that exists but is
 * broken is an error, never a silent fall back to the demo.
 */
export function resolveKubeConfig(kubeconfigFlag?: string, locations: KubeConfigLocations = {}): KubeConfig | undefined {
  const config = new KubeConfig();
  if (kubeconfigFlag !== undefined) {
    if (!existsSync(kubeconfigFlag)) throw new KubeConfigError(`cannot use kubeconfig ${kubeconfigFlag}: no such file`);
    loadFile(config, kubeconfigFlag);
    return requireCurrentCluster(config, kubeconfigFlag);
  }

  const serviceAccountRoot = locations.serviceAccountRoot ?? '';
  if (process.env.KUBERNETES_SERVICE_HOST && existsSync(serviceAccountRoot + SERVICE_ACCOUNT_TOKEN)) {
    config.loadFromCluster(serviceAccountRoot);
    return config;
  }

  const listed = (process.env.KUBECONFIG ?? '').split(path.delimiter).filter((file) => file !== '' && existsSync(file));
  const files = listed.length > 0 ? listed : [path.join(locations.homeDir ?? os.homedir(), '.kube', 'config')].filter(existsSync);
  if (files.length === 0) return undefined;
  loadFile(config, files[0]);
  for (const file of files.slice(1)) {
    const more = new KubeConfig();
    loadFile(more, file);
    mergeFirstWins(config, more);
  }
  return requireCurrentCluster(config, files.join(path.delimiter));
}
