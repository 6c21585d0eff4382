// The shared vocabulary of eviction-guard. Every module speaks these types; only admission/
// knows the AdmissionReview wire format and only cluster/ knows raw Kubernetes objects.

/** Who asked for the eviction, from the AdmissionReview's userInfo. */
export interface Requester {
  username: string;
  uid?: string;
  groups: string[];
}

/** One decoded `CREATE pods/eviction` admission request. */
export interface EvictionAttempt {
  /** AdmissionReview request uid, echoed in the response. */
  uid: string;
  /** Pod namespace and name, from request.namespace / request.name (never object.metadata). */
  namespace: string;
  podName: string;
  /** apiVersion of the Eviction body: policy/v1 or policy/v1beta1. */
  evictionVersion: 'policy/v1' | 'policy/v1beta1';
  requester: Requester;
  /** request.dryRun, or deleteOptions.dryRun containing "All". */
  dryRun: boolean;
  /** deleteOptions.gracePeriodSeconds, when the client sent it. */
  gracePeriodSeconds?: number;
  /** deleteOptions.preconditions.uid: the pod the client means; the API server answers 409 when the pod's uid differs. */
  preconditionUid?: string;
}

/**
 * Where a review came from, as the transport tells it (not the review's body): the caller's TLS
 * client certificate subject under --client-ca, else `unauthenticated`, and its source address.
 */
export interface RequestOrigin {
  caller: string;
  /** A client certificate signed by --client-ca was verified. */
  authenticated: boolean;
  sourceAddress: string;
}

/** The caller of a review that came without a verified client certificate. */
export const UNAUTHENTICATED = 'unauthenticated';

/** Marks a mirror (static) pod, which the kubelet owns: drain skips it and PodFacts keep it. */
export const MIRROR_POD_ANNOTATION = 'kubernetes.io/config.mirror';

/** The controller that owns a pod (its controllerRef). */
export interface OwnerRef {
  kind: string;
  name: string;
  uid?: string;
}

/**
 * Caps on the annotations the index keeps per object (pod, namespace, node): a value longer than
 * ANNOTATION_VALUE_CAP_BYTES (UTF-8) is cut at a character boundary, and once an object's kept
 * keys and values reach ANNOTATIONS_CAP_BYTES the rest are dropped (ours and the ecosystem's
 * well-known ones first, see cluster/trim.ts). A chart or operator that writes megabytes of JSON
 * into annotations would otherwise grow the index with every pod.
 */
export const ANNOTATION_VALUE_CAP_BYTES = 1024;
export const ANNOTATIONS_CAP_BYTES = 8192;

/** One entry of metadata.ownerReferences. */
export interface PodOwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid?: string;
  controller?: boolean;
}

/** One of spec.volumes, without its content: `source` names the volume source's field. */
export interface PodVolume {
  name: string;
  /** 'emptyDir', 'persistentVolumeClaim', 'configMap', 'projected', ... ('' if none). */
  source: string;
}

/** One of status.conditions. */
export interface PodCondition {
  type: string;
  status: string;
  lastTransitionTime?: string;
}

/**
 * A pod trimmed to what decisions and policies need. The cache holds only these, never full pod
 * objects, so memory stays flat as pods grow fatter (design.md, "Cluster state and scale").
 */
export interface PodFacts {
  namespace: string;
  name: string;
  uid: string;
  resourceVersion?: string;
  labels: Readonly<Record<string, string>>;
  /** status.phase: Running, Pending, Succeeded, Failed or Unknown ('' if unset). */
  phase: string;
  /** The Ready condition is True (podutil.IsPodReady). */
  ready: boolean;
  /** metadata.deletionTimestamp is set. */
  deleting: boolean;
  nodeName?: string;
  owner?: OwnerRef;
  /** Pod has at least one emptyDir volume (kubectl drain's localStorageFilter). */
  hasEmptyDir: boolean;
  /**
   * All metadata.annotations except kubectl.kubernetes.io/last-applied-configuration, within the
   * caps ANNOTATION_VALUE_CAP_BYTES per value and ANNOTATIONS_CAP_BYTES per object.
   */
  annotations: Readonly<Record<string, string>>;
  /** metadata.creationTimestamp, RFC 3339 as the API gives it. */
  creationTimestamp?: string;
  deletionTimestamp?: string;
  ownerReferences: readonly PodOwnerReference[];
  priorityClassName?: string;
  priority?: number;
  serviceAccountName?: string;
  volumes: readonly PodVolume[];
  conditions: readonly PodCondition[];
  /** status.startTime. */
  startTime?: string;
}

/** A pod that reads one annotation without building its whole annotation record (cluster/indexed-pod.ts). */
interface AnnotationLookup {
  annotation(key: string): string | undefined;
}

const hasAnnotationLookup = (pod: PodFacts): pod is PodFacts & AnnotationLookup => typeof (pod as Partial<AnnotationLookup>).annotation === 'function';

/** One annotation of a pod; for the index's pods, without building the record that `pod.annotations` builds. */
export function podAnnotation(pod: PodFacts, key: string): string | undefined {
  return hasAnnotationLookup(pod) ? pod.annotation(key) : pod.annotations[key];
}

/**
 * A plain copy of any PodFacts with every field, getters included, and `changes` applied: the
 * safe way to derive a pod: a spread copies only own fields, and the index's pods keep the fields
 * policies read rarely as getters (cluster/indexed-pod.ts).
 */
export function plainPod(pod: PodFacts, changes: Partial<PodFacts> = {}): PodFacts {
  return {
    namespace: pod.namespace,
    name: pod.name,
    uid: pod.uid,
    resourceVersion: pod.resourceVersion,
    labels: pod.labels,
    phase: pod.phase,
    ready: pod.ready,
    deleting: pod.deleting,
    nodeName: pod.nodeName,
    owner: pod.owner,
    hasEmptyDir: pod.hasEmptyDir,
    annotations: pod.annotations,
    creationTimestamp: pod.creationTimestamp,
    deletionTimestamp: pod.deletionTimestamp,
    ownerReferences: pod.ownerReferences,
    priorityClassName: pod.priorityClassName,
    priority: pod.priority,
    serviceAccountName: pod.serviceAccountName,
    volumes: pod.volumes,
    conditions: pod.conditions,
    startTime: pod.startTime,
    ...changes,
  };
}

export interface LabelSelectorRequirement {
  key: string;
  operator: string;
  values?: string[];
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}

export interface PdbCondition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

export interface PdbStatus {
  observedGeneration?: number;
  disruptionsAllowed: number;
  currentHealthy: number;
  desiredHealthy: number;
  expectedPods: number;
  /** Pod names the API server recorded as evicted but not yet seen deleting. */
  disruptedPods: Readonly<Record<string, string>>;
  conditions: readonly PdbCondition[];
}

/** A PodDisruptionBudget as read through policy/v1. */
export interface PdbFacts {
  namespace: string;
  name: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  /** spec.selector; null when absent (a nil selector matches nothing). */
  selector: LabelSelector | null;
  minAvailable?: number | string;
  maxUnavailable?: number | string;
  unhealthyPodEvictionPolicy?: string;
  status: PdbStatus;
}

/** A ReplicaSet, Deployment or StatefulSet, kept for owner lookups. */
export interface WorkloadFacts {
  kind: string;
  namespace: string;
  name: string;
  uid?: string;
  /** spec.replicas; the API server defaults it to 1. */
  replicas: number;
  readyReplicas: number;
  owner?: OwnerRef;
  labels: Readonly<Record<string, string>>;
  /** spec.template.metadata.labels: the labels of the pods it creates (lint reads them). */
  templateLabels: Readonly<Record<string, string>>;
}

export interface NamespaceFacts {
  name: string;
  uid?: string;
  labels: Readonly<Record<string, string>>;
  /** All metadata.annotations but last-applied-configuration, within the caps (as PodFacts). */
  annotations: Readonly<Record<string, string>>;
}

/** One of a Node's spec.taints. */
export interface NodeTaint {
  key: string;
  value?: string;
  effect: string;
}

/** One of a Node's status.conditions. */
export interface NodeCondition {
  type: string;
  status: string;
  reason?: string;
  lastTransitionTime?: string;
}

/** A Node trimmed to what policies read: whether it is cordoned, tainted or unhealthy. */
export interface NodeFacts {
  name: string;
  uid?: string;
  labels: Readonly<Record<string, string>>;
  /** All metadata.annotations but last-applied-configuration, within the caps (as PodFacts). */
  annotations: Readonly<Record<string, string>>;
  /** spec.unschedulable: cordoned. */
  unschedulable: boolean;
  taints: readonly NodeTaint[];
  conditions: readonly NodeCondition[];
}

/** The workload an eviction takes a replica from: the top of the pod's controller chain. */
export interface OwnerFacts {
  /** Deployment (for a ReplicaSet it owns), ReplicaSet, StatefulSet, any other controller, or Pod for a pod without one. */
  kind: string;
  name: string;
  replicas: number;
  readyReplicas: number;
  /** 'spec' when read from the workload object; 'pods' when counted from the pods it controls. */
  replicasFrom: 'spec' | 'pods';
}

/** Which pods count together for maxDisruptions. */
export type DisruptionScope = 'owner' | 'namespace' | 'node';

/**
 * One scope's pods: a pod's owner (top controller), namespace or node. `key` names the scope
 * instance: `shop/Deployment/web`, `shop`, `node-a`.
 */
export interface ScopeRef {
  scope: DisruptionScope;
  key: string;
}

/**
 * The evictions the webhook allowed that the cluster does not show yet (reservation/record.ts), as
 * read from the records of the scopes a decision counts in.
 */
export interface ReservationView {
  /** The pod already holds a slot in this scope's record. */
  holds(scope: ScopeRef, pod: PodFacts): boolean;
  /** Some record read holds a live reservation for the pod: it is about to be evicted. */
  isReserved(pod: PodFacts): boolean;
}

/** The pod's surroundings that policies read; the cluster sources fill it from their index. */
export interface EvictionContext {
  /** The pod's namespace; undefined when the source does not hold it. */
  namespace: NamespaceFacts | undefined;
  /** The Node of pod.spec.nodeName; undefined when the pod is not scheduled or the source does not hold that Node. */
  readonly node: NodeFacts | undefined;
  owner: OwnerFacts;
  /** The pods sharing the evicted pod's owner, namespace or node, the pod itself included. */
  peers(scope: DisruptionScope): readonly PodFacts[];
  /**
   * A PDB lists the pod in status.disruptedPods: evicted, deletion not yet seen. Pods of any
   * namespace, since the pods of a node span namespaces.
   */
  isRecordedDisruption(pod: PodFacts): boolean;
}

/** Where the facts behind a decision came from. */
export type FactSource = 'cache' | 'live' | 'snapshot';

/** Everything decide() needs to know about the cluster for one attempt. */
export interface EvictionFacts {
  /** The pod, or undefined when it does not exist (the API server will answer 404). */
  pod: PodFacts | undefined;
  /** Every PDB in the pod's namespace (the API server lists them all, then filters). */
  pdbs: readonly PdbFacts[];
  /** Pods of the namespace, for explanations (which selected pods are not Ready). Called only when explaining. */
  podsInNamespace: () => readonly PodFacts[];
  source: FactSource;
  /** What policies read beyond the pod and its PDBs; undefined from sources that hold nothing more. */
  context?: EvictionContext;
  /** Reservations read for this decision; counting rules count reserved pods as in disruption. */
  reservations?: ReservationView;
}

export type Action = 'deny' | 'warn' | 'audit';

/** A metav1.StatusCause. */
export interface StatusCause {
  type?: string;
  message?: string;
  field?: string;
}

/**
 * One thing a check found. `check` is a stable id (pdb/overlap, pdb/budget, pdb/stale,
 * policy/<name>/<rule>): it shows up in logs, metrics and messages.
 */
export interface Finding {
  check: string;
  action: Action;
  /** HTTP code when this finding denies: 429, 403 or 500. */
  code?: number;
  /** metav1.StatusReason; empty for the overlapping-PDB 500, as upstream. */
  reason?: string;
  /** Exact upstream top-level message, for mirror findings that deny. */
  upstreamMessage?: string;
  /** One human line explaining the finding, naming objects as namespace/name. */
  message: string;
  /** What to do about it. */
  hint?: string;
  /** A warning of at most 120 characters for response.warnings. */
  warning?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
  /** PDBs involved, as namespace/name. */
  pdbs?: string[];
  /** The check itself could not be evaluated (e.g. a CEL runtime error); counted as a policy error. */
  evaluationFailed?: boolean;
}

/** What the webhook answers, before wire encoding. */
export interface Verdict {
  allowed: boolean;
  /** Present when denied: the metav1.Status to return. */
  status?: {
    code: number;
    reason?: string;
    message: string;
    details?: { retryAfterSeconds?: number; causes?: StatusCause[] };
  };
  warnings: string[];
  auditAnnotations: Record<string, string>;
  findings: Finding[];
  /** PDBs involved, as namespace/name. */
  pdbs: string[];
}
