// Raw Kubernetes objects for tests and benchmarks, shaped like what the API server returns.
import type { KubeObject } from '../fake-apiserver';

export interface PodOptions {
  labels?: Record<string, string>;
  phase?: string;
  ready?: boolean;
  nodeName?: string;
  owner?: { kind: string; name: string; uid?: string };
  annotations?: Record<string, string>;
  /** Set metadata.deletionTimestamp, as for a pod that is terminating. */
  deleting?: boolean;
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
      ...(options.annotations ? { annotations: options.annotations } : {}),
      ...(options.deleting ? { deletionTimestamp: '2024-06-05T10:00:00Z', deletionGracePeriodSeconds: 30 } : {}),
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
  disruptedPods?: Record<string, string>;
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
      ...(options.disruptedPods ? { disruptedPods: options.disruptedPods } : {}),
    },
  };
}

/** A ReplicaSet, Deployment or StatefulSet, optionally owned by another (a Deployment's ReplicaSet). */
export function workloadObject(
  kind: 'ReplicaSet' | 'Deployment' | 'StatefulSet',
  namespace: string,
  name: string,
  replicas: number,
  owner?: { kind: string; name: string },
): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind,
    metadata: {
      name,
      namespace,
      ...(owner ? { ownerReferences: [{ apiVersion: 'apps/v1', controller: true, uid: `${owner.name}-uid`, ...owner }] } : {}),
    },
    spec: { replicas, selector: { matchLabels: { app: name } } },
    status: { replicas, readyReplicas: replicas },
  };
}

export function namespaceObject(name: string, labels: Record<string, string> = {}, annotations: Record<string, string> = {}): KubeObject {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels, annotations } };
}

export interface NodeOptions {
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  /** Cordoned: spec.unschedulable and the taint the node lifecycle controller adds for it. */
  unschedulable?: boolean;
  ready?: boolean;
}

export function nodeObject(name: string, options: NodeOptions = {}): KubeObject {
  const { labels = { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux' }, annotations = {}, unschedulable = false, ready = true } = options;
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, uid: `${name}-uid`, labels, annotations },
    spec: unschedulable ? { unschedulable: true, taints: [{ key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule', timeAdded: '2024-06-05T09:00:00Z' }] } : {},
    status: {
      conditions: [
        {
          type: 'Ready',
          status: ready ? 'True' : 'False',
          reason: ready ? 'KubeletReady' : 'KubeletNotReady',
          message: ready ? 'kubelet is posting ready status' : 'container runtime is down',
          lastHeartbeatTime: '2024-06-05T09:59:00Z',
          lastTransitionTime: '2024-06-01T08:00:00Z',
        },
      ],
    },
  };
}

/** An EvictionPolicy custom resource with this spec. */
export function evictionPolicyObject(name: string, spec: unknown): KubeObject {
  return { apiVersion: 'evictionguard.io/v1alpha1', kind: 'EvictionPolicy', metadata: { name }, spec };
}
