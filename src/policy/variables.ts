// The variables of policy CEL expressions, built from the facts of one eviction in the shape of
// the Kubernetes objects (their declared types are in cel-types.ts). They are built lazily, field
// by field: the 20 CEL policies an eviction may meet build each field they read once, and a field
// nobody reads (a pod's annotations, its timestamps) is never built. The tables of field readers
// below are defined once; an eviction allocates only the views and what its expressions read.
import { celList } from '@bufbuild/cel';
import { timestampFromDate, type Timestamp } from '@bufbuild/protobuf/wkt';
import type { EvictionAttempt, EvictionContext, NamespaceFacts, NodeFacts, PdbFacts, PodFacts } from '../domain';
import { celActivation, celObject, toCelValue, type CelFields, type CelVariables } from './cel';
import { namespaceLabels } from './match';

/** An RFC 3339 time as a CEL timestamp; absent when missing or unreadable, so has() tests it. */
function timestamp(text: string | undefined): Timestamp | undefined {
  if (text === undefined) return undefined;
  const date = new Date(text);
  return Number.isNaN(date.getTime()) ? undefined : timestampFromDate(date);
}

/** Conditions with their lastTransitionTime as a timestamp. */
function conditionsOf<T extends { lastTransitionTime?: string }>(conditions: readonly T[]) {
  return conditions.map((condition) => ({ ...condition, lastTransitionTime: timestamp(condition.lastTransitionTime) }));
}

const POD_METADATA: CelFields<PodFacts> = {
  name: (pod) => pod.name,
  namespace: (pod) => pod.namespace,
  uid: (pod) => pod.uid,
  labels: (pod) => pod.labels,
  annotations: (pod) => pod.annotations,
  ownerReferences: (pod) => pod.ownerReferences,
  creationTimestamp: (pod) => timestamp(pod.creationTimestamp),
  deletionTimestamp: (pod) => timestamp(pod.deletionTimestamp),
};

const POD_SPEC: CelFields<PodFacts> = {
  nodeName: (pod) => pod.nodeName,
  priorityClassName: (pod) => pod.priorityClassName,
  priority: (pod) => pod.priority,
  serviceAccountName: (pod) => pod.serviceAccountName,
  // The API shape, `{name, emptyDir: {...}}`, with the source's content left out.
  volumes: (pod) => pod.volumes.map(({ name, source }) => (source === '' ? { name } : { name, [source]: {} })),
};

const POD_STATUS: CelFields<PodFacts> = {
  phase: (pod) => pod.phase,
  conditions: (pod) => conditionsOf(pod.conditions),
  startTime: (pod) => timestamp(pod.startTime),
};

const POD: CelFields<PodFacts> = {
  metadata: (pod) => celObject(pod, POD_METADATA),
  spec: (pod) => celObject(pod, POD_SPEC),
  status: (pod) => celObject(pod, POD_STATUS),
};

const PDB_STATUS: CelFields<PdbFacts['status']> = {
  observedGeneration: (status) => status.observedGeneration,
  disruptionsAllowed: (status) => status.disruptionsAllowed,
  currentHealthy: (status) => status.currentHealthy,
  desiredHealthy: (status) => status.desiredHealthy,
  expectedPods: (status) => status.expectedPods,
  disruptedPods: (status) => Object.fromEntries(Object.entries(status.disruptedPods).map(([name, time]) => [name, timestamp(time)])),
  conditions: (status) => status.conditions,
};

const PDB: CelFields<PdbFacts> = {
  metadata: (pdb) => ({ name: pdb.name, namespace: pdb.namespace, uid: pdb.uid, generation: pdb.generation }),
  spec: (pdb) => ({
    selector: pdb.selector ?? undefined,
    minAvailable: pdb.minAvailable,
    maxUnavailable: pdb.maxUnavailable,
    unhealthyPodEvictionPolicy: pdb.unhealthyPodEvictionPolicy,
  }),
  status: ({ status }) => celObject(status, PDB_STATUS),
};

const NODE: CelFields<NodeFacts> = {
  metadata: (node) => ({ name: node.name, uid: node.uid, labels: node.labels, annotations: node.annotations }),
  spec: (node) => ({ unschedulable: node.unschedulable, taints: node.taints }),
  status: (node) => ({ conditions: conditionsOf(node.conditions) }),
};

const OBJECT: CelFields<EvictionAttempt> = {
  apiVersion: (attempt) => attempt.evictionVersion,
  kind: () => 'Eviction',
  metadata: (attempt) => ({ name: attempt.podName, namespace: attempt.namespace }),
  deleteOptions: (attempt) => ({
    gracePeriodSeconds: attempt.gracePeriodSeconds,
    // The decoder keeps whether the eviction is a dry run, not how it was asked for.
    dryRun: attempt.dryRun ? ['All'] : undefined,
    preconditions: attempt.preconditionUid === undefined ? undefined : { uid: attempt.preconditionUid },
  }),
};

const REQUEST: CelFields<EvictionAttempt> = {
  uid: (attempt) => attempt.uid,
  kind: (attempt) => ({ group: 'policy', version: attempt.evictionVersion.slice('policy/'.length), kind: 'Eviction' }),
  resource: () => ({ group: '', version: 'v1', resource: 'pods' }),
  subResource: () => 'eviction',
  name: (attempt) => attempt.podName,
  namespace: (attempt) => attempt.namespace,
  operation: () => 'CREATE',
  userInfo: ({ requester }) => ({ username: requester.username, uid: requester.uid, groups: requester.groups }),
  dryRun: (attempt) => attempt.dryRun,
};

const NAMESPACE_METADATA: CelFields<{ pod: PodFacts; namespace: NamespaceFacts | undefined }> = {
  name: ({ pod }) => pod.namespace,
  uid: ({ namespace }) => namespace?.uid,
  labels: ({ pod, namespace }) => namespaceLabels(pod.namespace, namespace),
  annotations: ({ namespace }) => namespace?.annotations ?? {},
};

/**
 * object, request, pod, namespaceObject, node, pdbs (those selecting the pod), owner and now.
 * Each variable is a view whose fields are built when an expression first reads them: building
 * the views costs a few small objects per eviction, and a field nobody reads costs nothing.
 */
export function celVariables(attempt: EvictionAttempt, pod: PodFacts, pdbs: readonly PdbFacts[], context: EvictionContext, now: Date): CelVariables {
  const { owner, node } = context;
  return celActivation({
    object: celObject(attempt, OBJECT),
    request: celObject(attempt, REQUEST),
    pod: celObject(pod, POD),
    namespaceObject: toCelValue({ metadata: celObject({ pod, namespace: context.namespace }, NAMESPACE_METADATA) }),
    node: node === undefined ? null : celObject(node, NODE),
    pdbs: celList(pdbs.map((pdb) => celObject(pdb, PDB))),
    owner: toCelValue({ kind: owner.kind, name: owner.name, replicas: owner.replicas, readyReplicas: owner.readyReplicas }),
    now: timestampFromDate(now),
  });
}
