// A synthetic cluster for `npm run bench`: pods shaped like real ones (containers, env, volumes,
// managedFields, full status), so that the webhook's trimming is measured, not flattered.
import type { KubeObject } from '../test/fake-apiserver';

export interface ClusterShape {
  namespaces: number;
  podsPerNamespace: number;
  pdbsPerNamespace: number;
  /** Every n-th PDB allows no disruption, so evictions of its pods are denied. */
  exhaustedEvery: number;
  /** Pods are dealt round-robin over this many nodes (100 per node at 100k pods; kubelet's default cap is 110). */
  nodes: number;
}

export const BENCH_CLUSTER: ClusterShape = { namespaces: 1000, podsPerNamespace: 100, pdbsPerNamespace: 10, exhaustedEvery: 10, nodes: 1000 };

/** Consecutive pods land on different nodes, as a scheduler spreading a workload would place them. */
const nodeName = (podIndex: number, shape: ClusterShape) => `node-${podIndex % shape.nodes}`;

export const namespaceName = (n: number) => `team-${n}`;
export const appName = (p: number) => `app-${p}`;
export const podName = (app: number, i: number) => `${appName(app)}-7d9c5b7f6-${i.toString(36).padStart(5, 'x')}`;

function pod(namespace: string, app: number, i: number, node: string): KubeObject {
  const name = podName(app, i);
  const rs = `${appName(app)}-7d9c5b7f6`;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace,
      uid: `${namespace}-${name}-uid`,
      generateName: `${rs}-`,
      labels: { app: appName(app), 'pod-template-hash': '7d9c5b7f6', 'app.kubernetes.io/part-of': namespace, tier: 'backend' },
      annotations: { 'kubectl.kubernetes.io/restartedAt': '2026-11-01T10:00:00Z', 'prometheus.io/scrape': 'true' },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: rs, uid: `${namespace}-${rs}-uid`, controller: true, blockOwnerDeletion: true }],
      managedFields: [
        { manager: 'kube-controller-manager', operation: 'Update', apiVersion: 'v1', time: '2026-11-01T10:00:00Z', fieldsType: 'FieldsV1', fieldsV1: { 'f:metadata': { 'f:labels': {} } } },
        { manager: 'kubelet', operation: 'Update', apiVersion: 'v1', time: '2026-11-01T10:00:05Z', fieldsType: 'FieldsV1', subresource: 'status', fieldsV1: { 'f:status': { 'f:conditions': {} } } },
      ],
    },
    spec: {
      nodeName: node,
      serviceAccountName: appName(app),
      containers: [
        {
          name: 'main',
          image: `registry.example.com/${namespace}/${appName(app)}:1.42.0`,
          ports: [{ containerPort: 8080, name: 'http' }],
          env: Array.from({ length: 6 }, (_, e) => ({ name: `SETTING_${e}`, value: `value-${e}-${namespace}` })),
          resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '256Mi' } },
          readinessProbe: { httpGet: { path: '/ready', port: 8080 }, periodSeconds: 5 },
          volumeMounts: [{ name: 'config', mountPath: '/etc/app' }, { name: 'kube-api-access', mountPath: '/var/run/secrets/kubernetes.io/serviceaccount', readOnly: true }],
        },
      ],
      volumes: [
        { name: 'config', configMap: { name: `${appName(app)}-config` } },
        { name: 'cache', emptyDir: {} },
        { name: 'kube-api-access', projected: { sources: [{ serviceAccountToken: { expirationSeconds: 3607, path: 'token' } }] } },
      ],
    },
    status: {
      phase: 'Running',
      podIP: `10.${app}.${i >> 8}.${i & 255}`,
      hostIP: '192.168.0.10',
      startTime: '2026-11-01T10:00:00Z',
      conditions: ['Initialized', 'Ready', 'ContainersReady', 'PodScheduled'].map((type) => ({ type, status: 'True', lastTransitionTime: '2026-11-01T10:00:05Z' })),
      containerStatuses: [{ name: 'main', ready: true, started: true, restartCount: 0, image: 'registry.example.com/app:1.42.0', imageID: 'sha256:0123456789abcdef', containerID: 'containerd://0123456789abcdef', state: { running: { startedAt: '2026-11-01T10:00:03Z' } } }],
    },
  };
}

function pdb(namespace: string, app: number, exhausted: boolean, podsPerApp: number): KubeObject {
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: { name: `${appName(app)}-pdb`, namespace, uid: `${namespace}-${app}-pdb-uid`, generation: 1 },
    spec: { selector: { matchLabels: { app: appName(app) } }, ...(exhausted ? { minAvailable: podsPerApp } : { maxUnavailable: 1 }) },
    status: {
      observedGeneration: 1,
      disruptionsAllowed: exhausted ? 0 : 1,
      currentHealthy: podsPerApp,
      desiredHealthy: exhausted ? podsPerApp : podsPerApp - 1,
      expectedPods: podsPerApp,
      conditions: [{ type: 'DisruptionAllowed', status: exhausted ? 'False' : 'True', reason: exhausted ? 'InsufficientPods' : 'SufficientPods', message: '', lastTransitionTime: '2026-11-01T10:00:05Z', observedGeneration: 1 }],
    },
  };
}


export const isExhausted = (shape: ClusterShape, app: number) => app % shape.exhaustedEvery === shape.exhaustedEvery - 1;

/** Pods spread evenly over the PDBs of each namespace: app-k has podsPerNamespace / pdbsPerNamespace pods. */
export function* syntheticCluster(shape: ClusterShape = BENCH_CLUSTER): Generator<KubeObject> {
  const podsPerApp = shape.podsPerNamespace / shape.pdbsPerNamespace;
  let podIndex = 0;
  for (let n = 0; n < shape.namespaces; n++) {
    const namespace = namespaceName(n);
    for (let app = 0; app < shape.pdbsPerNamespace; app++) {
      yield pdb(namespace, app, isExhausted(shape, app), podsPerApp);
      for (let i = 0; i < podsPerApp; i++) yield pod(namespace, app, i, nodeName(podIndex++, shape));
    }
  }
}
