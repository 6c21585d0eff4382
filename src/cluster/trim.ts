// Raw Kubernetes JSON → the trimmed facts the index keeps. Everything else is dropped the moment an
// object arrives, so memory does not grow with spec, containers, managedFields or status details.
import { MIRROR_POD_ANNOTATION } from '../domain';
import type { LabelSelector, LabelSelectorRequirement, NamespaceFacts, OwnerRef, PdbCondition, PdbFacts, PodFacts, WorkloadFacts } from '../domain';
import { V1BETA1_MATCH_NONE_KEY } from '../pdb/selector';
import type { Interner } from './intern';

/** A trimmed object, or why the raw one could not be trimmed. */
export type Trimmed<T> = { facts: T } | { error: string };

// The workload and namespace facts are domain types (policies read them); re-exported for cluster/.
export type { NamespaceFacts, WorkloadFacts };

type Json = Record<string, unknown>;

const OWN_ANNOTATION_PREFIX = 'evictionguard.io/';

function asObject(value: unknown): Json | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : undefined;
}

function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function asString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function asNumber(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

function asIntOrString(value: unknown): number | string | undefined {
  return typeof value === 'number' || typeof value === 'string' ? value : undefined;
}

/** Hand-written snapshots may leave `version: 1.0` unquoted; a label value is always a string. */
function scalarEntries(value: unknown, keep: (key: string) => boolean = () => true): [string, string][] {
  const object = asObject(value);
  if (object === undefined) return [];
  const entries: [string, string][] = [];
  for (const key of Object.keys(object)) {
    const entry = object[key];
    if (!keep(key)) continue;
    if (typeof entry === 'string') entries.push([key, entry]);
    else if (typeof entry === 'number' || typeof entry === 'boolean') entries.push([key, String(entry)]);
  }
  return entries;
}

function isKeptAnnotation(key: string): boolean {
  return key === MIRROR_POD_ANNOTATION || key.startsWith(OWN_ANNOTATION_PREFIX);
}

interface Identity {
  metadata: Json;
  namespace: string;
  name: string;
}

function identify(raw: unknown, what: string, interner: Interner, namespaced: boolean): Identity | { error: string } {
  const metadata = asObject(asObject(raw)?.metadata);
  const name = asString(metadata?.name);
  if (metadata === undefined || name === undefined || name === '') return { error: `${what} has no metadata.name` };
  // Namespaced objects without a namespace land in "default", as kubectl apply would put them.
  const namespace = namespaced ? interner.string(asString(metadata.namespace) || 'default') : '';
  return { metadata, namespace, name };
}

function controllerOf(metadata: Json, interner: Interner): OwnerRef | undefined {
  for (const reference of asArray(metadata.ownerReferences)) {
    const owner = asObject(reference);
    if (owner?.controller !== true) continue;
    const kind = asString(owner.kind);
    const name = asString(owner.name);
    if (kind !== undefined && name !== undefined) return interner.owner(kind, name, asString(owner.uid));
  }
  return undefined;
}

function isReady(status: Json | undefined): boolean {
  return asArray(status?.conditions).some((entry) => {
    const condition = asObject(entry);
    return condition?.type === 'Ready' && condition.status === 'True';
  });
}

function hasEmptyDirVolume(spec: Json | undefined): boolean {
  return asArray(spec?.volumes).some((volume) => {
    const emptyDir = asObject(volume)?.emptyDir;
    return emptyDir !== undefined && emptyDir !== null;
  });
}

export function trimPod(raw: unknown, interner: Interner): Trimmed<PodFacts> {
  const identity = identify(raw, 'Pod', interner, true);
  if ('error' in identity) return identity;
  const { metadata, namespace, name } = identity;
  const spec = asObject((raw as Json).spec);
  const status = asObject((raw as Json).status);
  const nodeName = asString(spec?.nodeName);
  // Every pod gets the same property order, so V8 gives all of them one compact hidden class.
  const pod: PodFacts = {
    namespace,
    name,
    uid: asString(metadata.uid) ?? '',
    resourceVersion: asString(metadata.resourceVersion),
    labels: interner.record(scalarEntries(metadata.labels)),
    phase: interner.string(asString(status?.phase) ?? ''),
    ready: isReady(status),
    deleting: metadata.deletionTimestamp !== undefined && metadata.deletionTimestamp !== null,
    nodeName: nodeName === undefined ? undefined : interner.string(nodeName),
    owner: controllerOf(metadata, interner),
    hasEmptyDir: hasEmptyDirVolume(spec),
    annotations: interner.record(scalarEntries(metadata.annotations, isKeptAnnotation)),
  };
  return { facts: pod };
}

function trimRequirement(raw: unknown, interner: Interner): LabelSelectorRequirement {
  const requirement = asObject(raw) ?? {};
  const values = Array.isArray(requirement.values) ? requirement.values.map((value) => interner.string(String(value))) : undefined;
  return {
    key: interner.string(asString(requirement.key) ?? ''),
    operator: interner.string(asString(requirement.operator) ?? ''),
    ...(values === undefined ? {} : { values }),
  };
}


function isEmptySelector(selector: Json): boolean {
  const matchLabels = asObject(selector.matchLabels);
  return (matchLabels === undefined || Object.keys(matchLabels).length === 0) && asArray(selector.matchExpressions).length === 0;
}

/** A missing selector stays null: policy/v1 gives a nil selector no pods, but `{}` every pod. */
function trimSelector(raw: unknown, apiVersion: unknown, interner: Interner): LabelSelector | null {
  const selector = asObject(raw);
  if (selector === undefined) return null;
  // Snapshots may hold policy/v1beta1 objects as old kubectl printed them. The API server stores an
  // empty v1beta1 selector, which matched no pods, as this match-none Exists (NonV1beta1MatchNoneSelector).
  if (apiVersion === 'policy/v1beta1' && isEmptySelector(selector)) {
    return { matchExpressions: [{ key: V1BETA1_MATCH_NONE_KEY, operator: 'Exists' }] };
  }
  const trimmed: LabelSelector = {};
  if (asObject(selector.matchLabels) !== undefined) trimmed.matchLabels = { ...interner.record(scalarEntries(selector.matchLabels)) };
  if (Array.isArray(selector.matchExpressions)) {
    trimmed.matchExpressions = selector.matchExpressions.map((requirement) => trimRequirement(requirement, interner));
  }
  return trimmed;
}

function trimCondition(raw: unknown, interner: Interner): PdbCondition {
  const condition = asObject(raw) ?? {};
  return {
    type: interner.string(asString(condition.type) ?? ''),
    status: interner.string(asString(condition.status) ?? ''),
    reason: asString(condition.reason),
    message: asString(condition.message),
  };
}

export function trimPdb(raw: unknown, interner: Interner): Trimmed<PdbFacts> {
  const identity = identify(raw, 'PodDisruptionBudget', interner, true);
  if ('error' in identity) return identity;
  const { metadata, namespace, name } = identity;
  const spec = asObject((raw as Json).spec);
  const status = asObject((raw as Json).status);
  const pdb: PdbFacts = {
    namespace,
    name,
    uid: asString(metadata.uid),
    resourceVersion: asString(metadata.resourceVersion),
    generation: asNumber(metadata.generation),
    selector: trimSelector(spec?.selector, (raw as Json).apiVersion, interner),
    minAvailable: asIntOrString(spec?.minAvailable),
    maxUnavailable: asIntOrString(spec?.maxUnavailable),
    unhealthyPodEvictionPolicy: asString(spec?.unhealthyPodEvictionPolicy),
    status: {
      observedGeneration: asNumber(status?.observedGeneration),
      disruptionsAllowed: asNumber(status?.disruptionsAllowed) ?? 0,
      currentHealthy: asNumber(status?.currentHealthy) ?? 0,
      desiredHealthy: asNumber(status?.desiredHealthy) ?? 0,
      expectedPods: asNumber(status?.expectedPods) ?? 0,
      disruptedPods: Object.fromEntries(scalarEntries(status?.disruptedPods)),
      conditions: asArray(status?.conditions).map((condition) => trimCondition(condition, interner)),
    },
  };
  return { facts: pdb };
}

export function trimWorkload(kind: string, raw: unknown, interner: Interner): Trimmed<WorkloadFacts> {
  const identity = identify(raw, kind, interner, true);
  if ('error' in identity) return identity;
  const { metadata, namespace, name } = identity;
  const spec = asObject((raw as Json).spec);
  return {
    facts: {
      kind: interner.string(kind),
      namespace,
      name,
      uid: asString(metadata.uid),
      replicas: asNumber(spec?.replicas) ?? 1,
      readyReplicas: asNumber(asObject((raw as Json).status)?.readyReplicas) ?? 0,
      owner: controllerOf(metadata, interner),
      labels: interner.record(scalarEntries(metadata.labels)),
      // Interned: a ReplicaSet's template labels are the very record its pods' labels are.
      templateLabels: interner.record(scalarEntries(asObject(asObject(spec?.template)?.metadata)?.labels)),
    },
  };
}

export function trimNamespace(raw: unknown, interner: Interner): Trimmed<NamespaceFacts> {
  const identity = identify(raw, 'Namespace', interner, false);
  if ('error' in identity) return identity;
  const { metadata, name } = identity;
  return {
    facts: {
      name,
      uid: asString(metadata.uid),
      labels: interner.record(scalarEntries(metadata.labels)),
      annotations: interner.record(scalarEntries(metadata.annotations, isKeptAnnotation)),
    },
  };
}
