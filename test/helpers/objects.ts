// Raw Kubernetes objects for tests and benchmarks, shaped like what the API server returns.
import type { KubeObject } from '../fake-apiserver';

export interface PodOptions {
  labels?: Record<string, string>;
  phase?: string;
  ready?: boolean;
  nodeName?: string;
  owner?: { kind: string; name: string; uid?: string };
}

export function podObject(namespace: string, name: string, options: PodOptions = {}): KubeObject {
  const { labels = { app: name }, phase = 'Running', ready = true, nodeName = 'node-a', owner } = options;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace,
      labels,
      ...(owner ? { ownerReferences: [{ apiVersion: 'apps/v1', controller: true, blockOwnerDeletion: true, uid: `${owner.name}-uid`, ...owner }] } : {}),
    },
    spec: { nodeName, containers: [{ name: 'main', image: 'registry.example.com/app:1.0.0' }] },
    status: {
      phase,
      conditions: [
        { type: 'PodScheduled', status: 'True' },
        { type: 'Ready', status: ready ? 'True' : 'False' },
      ],
    },
  };
}

export interface PdbOptions {
  selector?: Record<string, unknown> | null;
  minAvailable?: number | string;
  maxUnavailable?: number | string;
  disruptionsAllowed?: number;
  currentHealthy?: number;
  desiredHealthy?: number;
  expectedPods?: number;
  generation?: number;
  observedGeneration?: number;
}

export function pdbObject(namespace: string, name: string, options: PdbOptions = {}): KubeObject {
  const { selector = { matchLabels: { app: name } }, generation = 1, observedGeneration = generation } = options;
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: { name, namespace, generation },
    spec: {
      ...(selector === null ? {} : { selector }),
      ...(options.minAvailable !== undefined ? { minAvailable: options.minAvailable } : {}),
      ...(options.maxUnavailable !== undefined ? { maxUnavailable: options.maxUnavailable } : {}),
    },
    status: {
      observedGeneration,
      disruptionsAllowed: options.disruptionsAllowed ?? 1,
      currentHealthy: options.currentHealthy ?? 2,
      desiredHealthy: options.desiredHealthy ?? 1,
      expectedPods: options.expectedPods ?? 2,
    },
  };
}
