// A synthetic cluster for `npm run bench`: pods shaped like real ones (containers, env, volumes,
// managedFields, full status, the annotations CNIs, rollouts and Prometheus add) and fat Nodes
// (images, addresses, heartbeats), so that the webhook's trimming is measured, not flattered.
import { createHash } from 'node:crypto';
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

const BASE_TIME_MS = Date.parse('2026-11-01T10:00:00Z');
/** A metav1.Time as the API server writes it: RFC 3339, whole seconds. */
const timestamp = (offsetS: number) => new Date(BASE_TIME_MS + offsetS * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
/** Stable stand-ins for the random parts the API server and the CNI generate. */
const hex = (seed: string, length: number) => createHash('sha256').update(seed).digest('hex').slice(0, length);
const suffix = (seed: string) => hex(seed, 5).replace(/[0-9]/g, (digit) => 'bcdfghjklm'[Number(digit)]);

function pod(namespace: string, n: number, app: number, i: number, node: string): KubeObject {
  const name = podName(app, i);
  const rs = `${appName(app)}-7d9c5b7f6`;
  // A workload's pods come up together at its last rollout, a few per second.
  const rolloutS = (n * 10 + app) * 37;
  const createdS = rolloutS + Math.floor(i / 4);
  const stateful = app % 5 === 4;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace,
      uid: `${namespace}-${name}-uid`,
      generateName: `${rs}-`,
      creationTimestamp: timestamp(createdS),
      labels: { app: appName(app), 'pod-template-hash': '7d9c5b7f6', 'app.kubernetes.io/part-of': namespace, tier: 'backend' },
      // 4 or 5: three shared by the workload's pods, the pod IP the CNI writes on each pod its own.
      annotations: {
        'checksum/config': hex(`${namespace}/${appName(app)}/config`, 64),
        'cni.projectcalico.org/podIP': `10.${n >> 2}.${((n & 3) << 6) | (app << 2) | (i >> 8)}.${i & 255}/32`,
        'kubectl.kubernetes.io/restartedAt': timestamp(rolloutS - 5),
        'prometheus.io/scrape': 'true',
        ...(app % 2 === 0 ? { 'prometheus.io/port': '8080' } : {}),
      },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: rs, uid: `${namespace}-${rs}-uid`, controller: true, blockOwnerDeletion: true }],
      managedFields: [
        { manager: 'kube-controller-manager', operation: 'Update', apiVersion: 'v1', time: '2026-11-01T10:00:00Z', fieldsType: 'FieldsV1', fieldsV1: { 'f:metadata': { 'f:labels': {} } } },
        { manager: 'kubelet', operation: 'Update', apiVersion: 'v1', time: '2026-11-01T10:00:05Z', fieldsType: 'FieldsV1', subresource: 'status', fieldsV1: { 'f:status': { 'f:conditions': {} } } },
      ],
    },
    spec: {
      nodeName: node,
      serviceAccountName: appName(app),
      priority: 0,
      ...(app === 0 ? { priorityClassName: 'business-critical', priority: 100000 } : {}),
      containers: [
        {
          name: 'main',
          image: `registry.example.com/${namespace}/${appName(app)}:1.42.0`,
          ports: [{ containerPort: 8080, name: 'http' }],
          env: Array.from({ length: 6 }, (_, e) => ({ name: `SETTING_${e}`, value: `value-${e}-${namespace}` })),
          resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '256Mi' } },
          readinessProbe: { httpGet: { path: '/ready', port: 8080 }, periodSeconds: 5 },
          volumeMounts: [{ name: 'config', mountPath: '/etc/app' }, { name: `kube-api-access-${suffix(`${namespace}/${name}`)}`, mountPath: '/var/run/secrets/kubernetes.io/serviceaccount', readOnly: true }],
        },
      ],
      // The ServiceAccount admission plugin names each pod's token volume kube-api-access-<random>.
      volumes: [
        { name: 'config', configMap: { name: `${appName(app)}-config` } },
        ...(app % 3 === 0 ? [{ name: 'cache', emptyDir: {} }] : []),
        ...(stateful ? [{ name: 'data', persistentVolumeClaim: { claimName: `data-${name}` } }] : []),
        {
          name: `kube-api-access-${suffix(`${namespace}/${name}`)}`,
          projected: {
            defaultMode: 420,
            sources: [
              { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
              { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
              { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
            ],
          },
        },
      ],
    },
    status: {
      phase: 'Running',
      podIP: `10.${app}.${i >> 8}.${i & 255}`,
      hostIP: '192.168.0.10',
      startTime: timestamp(createdS + 1),
      conditions: [
        { type: 'PodReadyToStartContainers', status: 'True', lastProbeTime: null, lastTransitionTime: timestamp(createdS + 3) },
        { type: 'Initialized', status: 'True', lastProbeTime: null, lastTransitionTime: timestamp(createdS + 1) },
        { type: 'Ready', status: 'True', lastProbeTime: null, lastTransitionTime: timestamp(createdS + 9) },
        { type: 'ContainersReady', status: 'True', lastProbeTime: null, lastTransitionTime: timestamp(createdS + 9) },
        { type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: timestamp(createdS) },
      ],
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


const ZONES = ['eu-west-1a', 'eu-west-1b', 'eu-west-1c'];

/** A Node as a kubelet reports it: most of its bytes (images, heartbeats, capacity) are what the index drops. */
function node(index: number): KubeObject {
  const name = `node-${index}`;
  const zone = ZONES[index % ZONES.length];
  const instance = `i-0${hex(name, 16)}`;
  const condition = (type: string, status: string, reason: string, message: string) => ({
    type,
    status,
    reason,
    message,
    lastHeartbeatTime: timestamp(86400 + (index % 300)),
    lastTransitionTime: timestamp(-3600),
  });
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      uid: `${name}-uid`,
      creationTimestamp: timestamp(-3600),
      labels: {
        'beta.kubernetes.io/arch': 'amd64',
        'beta.kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        'kubernetes.io/hostname': name,
        'kubernetes.io/os': 'linux',
        'node.kubernetes.io/instance-type': 'm6i.4xlarge',
        'topology.kubernetes.io/region': 'eu-west-1',
        'topology.kubernetes.io/zone': zone,
      },
      annotations: {
        'alpha.kubernetes.io/provided-node-ip': `192.168.${index >> 8}.${index & 255}`,
        'csi.volume.kubernetes.io/nodeid': JSON.stringify({ 'ebs.csi.aws.com': instance }),
        'node.alpha.kubernetes.io/ttl': '0',
        'volumes.kubernetes.io/controller-managed-attach-detach': 'true',
      },
      managedFields: [{ manager: 'kubelet', operation: 'Update', apiVersion: 'v1', time: timestamp(86400), fieldsType: 'FieldsV1', fieldsV1: { 'f:status': { 'f:conditions': {} } } }],
    },
    // Every hundredth node is cordoned, as during a rolling node upgrade.
    spec: {
      podCIDR: `10.${200 + (index >> 8)}.${index & 255}.0/24`,
      providerID: `aws:///${zone}/${instance}`,
      ...(index % 100 === 99 ? { unschedulable: true, taints: [{ key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule', timeAdded: timestamp(86000) }] } : {}),
    },
    status: {
      addresses: [
        { type: 'InternalIP', address: `192.168.${index >> 8}.${index & 255}` },
        { type: 'Hostname', address: name },
      ],
      capacity: { cpu: '16', 'ephemeral-storage': '104845292Ki', memory: '64929820Ki', pods: '110' },
      allocatable: { cpu: '15890m', 'ephemeral-storage': '95551679124', memory: '63913500Ki', pods: '110' },
      conditions: [
        condition('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'),
        condition('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
        condition('PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
        condition('Ready', 'True', 'KubeletReady', 'kubelet is posting ready status'),
      ],
      daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
      nodeInfo: { kubeletVersion: 'v1.31.4', containerRuntimeVersion: 'containerd://1.7.24', kernelVersion: '6.1.119', osImage: 'Amazon Linux 2023', architecture: 'amd64', operatingSystem: 'linux' },
      images: Array.from({ length: 40 }, (_, image) => ({
        names: [`registry.example.com/team-${image}/app@sha256:${hex(`image-${image}`, 64)}`, `registry.example.com/team-${image}/app:1.42.0`],
        sizeBytes: 50_000_000 + image * 1_000_000,
      })),
    },
  };
}

export const isExhausted = (shape: ClusterShape, app: number) => app % shape.exhaustedEvery === shape.exhaustedEvery - 1;

/** Pods spread evenly over the PDBs of each namespace: app-k has podsPerNamespace / pdbsPerNamespace pods. */
export function* syntheticCluster(shape: ClusterShape = BENCH_CLUSTER): Generator<KubeObject> {
  const podsPerApp = shape.podsPerNamespace / shape.pdbsPerNamespace;
  for (let index = 0; index < shape.nodes; index++) yield node(index);
  let podIndex = 0;
  for (let n = 0; n < shape.namespaces; n++) {
    const namespace = namespaceName(n);
    for (let app = 0; app < shape.pdbsPerNamespace; app++) {
      yield pdb(namespace, app, isExhausted(shape, app), podsPerApp);
      for (let i = 0; i < podsPerApp; i++) yield pod(namespace, n, app, i, nodeName(podIndex++, shape));
    }
  }
}
