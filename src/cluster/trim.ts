// Raw Kubernetes JSON → the trimmed facts the index keeps. Everything else is dropped the moment an
// object arrives, so memory does not grow with spec, containers, managedFields or status details.
import { ANNOTATION_VALUE_CAP_BYTES, ANNOTATIONS_CAP_BYTES, MIRROR_POD_ANNOTATION } from '../domain';
import type {
  LabelSelector,
  LabelSelectorRequirement,
  NamespaceFacts,
  NodeCondition,
  NodeFacts,
  NodeTaint,
  OwnerRef,
  PdbCondition,
  PdbFacts,
  PodCondition,
  PodFacts,
  PodOwnerReference,
  PodVolume,
  WorkloadFacts,
} from '../domain';
import { V1BETA1_MATCH_NONE_KEY } from '../pdb/selector';
import { compactVersion, encodeVolumeNames, IndexedPod, podFlags, RawTiming, TimingTemplate, wholeSeconds, type PodProfile, type PodTiming } from './indexed-pod';
import { annotationRecord, type Annotations, type Interner } from './intern';

/** A trimmed object, or why the raw one could not be trimmed. */
export type Trimmed<T> = { facts: T } | { error: string };

// The workload and namespace facts are domain types (policies read them); re-exported for cluster/.
export type { NamespaceFacts, NodeFacts, WorkloadFacts };

type Json = Record<string, unknown>;

const OWN_ANNOTATION_PREFIX = 'evictionguard.io/';

/** kubectl apply's copy of the whole object: large, and nothing a policy should decide on. */
export const LAST_APPLIED_ANNOTATION = 'kubectl.kubernetes.io/last-applied-configuration';

/**
 * Annotations kept before any other under the per-object cap: ours, the mirror-pod marker, and
 * those the ecosystem uses to say "do not disrupt" (Karpenter, cluster-autoscaler).
 */
const FIRST_KEPT_ANNOTATIONS: ReadonlySet<string> = new Set([
  MIRROR_POD_ANNOTATION,
  'karpenter.sh/do-not-disrupt',
  'cluster-autoscaler.kubernetes.io/safe-to-evict',
]);

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

const isFirstKept = (key: string) => key.startsWith(OWN_ANNOTATION_PREFIX) || FIRST_KEPT_ANNOTATIONS.has(key);

const utf8Bytes = (text: string) => Buffer.byteLength(text, 'utf8');

/** The longest start of `value` within `capBytes` of UTF-8 that ends on a character boundary. */
export function cutUtf8(value: string, capBytes: number): string {
  // A UTF-16 code unit takes at most 3 bytes of UTF-8: most values need no encoding to know they fit.
  if (value.length * 3 <= capBytes || utf8Bytes(value) <= capBytes) return value;
  const bytes = Buffer.from(value, 'utf8');
  let end = capBytes;
  // Step back over continuation bytes (10xxxxxx) to the first byte of the character the cap splits.
  while (end > 0 && (bytes[end] & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end).toString('utf8');
}

/**
 * The annotations the index keeps: all but last-applied-configuration, each value cut to
 * ANNOTATION_VALUE_CAP_BYTES, and while keys and values together stay within ANNOTATIONS_CAP_BYTES:
 * ours and the well-known "do not disrupt" ones first, then the rest in key order; one that does
 * not fit is dropped and smaller ones after it may still fit. Kept in key order.
 */
function cappedAnnotations(value: unknown, interner: Interner): Annotations {
  const entries = scalarEntries(value, (key) => key !== LAST_APPLIED_ANNOTATION);
  entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  // At most 3 bytes of UTF-8 per UTF-16 code unit: the usual few short annotations fit without encoding them.
  let bound = 0;
  let mayCut = false;
  for (const [key, text] of entries) {
    bound += 3 * (key.length + text.length);
    mayCut ||= 3 * text.length > ANNOTATION_VALUE_CAP_BYTES;
  }
  if (!mayCut && bound <= ANNOTATIONS_CAP_BYTES) return interner.annotations(entries);
  const capped = new Map<string, string>();
  let total = 0;
  for (const [key, text] of [...entries.filter(([key]) => isFirstKept(key)), ...entries.filter(([key]) => !isFirstKept(key))]) {
    const cut = cutUtf8(text, ANNOTATION_VALUE_CAP_BYTES);
    const size = utf8Bytes(key) + utf8Bytes(cut);
    if (total + size > ANNOTATIONS_CAP_BYTES) continue;
    total += size;
    capped.set(key, cut);
  }
  return interner.annotations(entries.filter(([key]) => capped.has(key)).map(([key]) => [key, capped.get(key)!]));
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

function ownerReferences(metadata: Json): PodOwnerReference[] {
  const references: PodOwnerReference[] = [];
  for (const entry of asArray(metadata.ownerReferences)) {
    const reference = asObject(entry);
    if (reference === undefined) continue;
    references.push({
      apiVersion: asString(reference.apiVersion) ?? '',
      kind: asString(reference.kind) ?? '',
      name: asString(reference.name) ?? '',
      uid: asString(reference.uid),
      controller: typeof reference.controller === 'boolean' ? reference.controller : undefined,
    });
  }
  return references;
}

/** A volume's source is its one field besides `name` (emptyDir, persistentVolumeClaim, configMap...). */
function volumeSource(volume: Json): string {
  for (const key of Object.keys(volume)) if (key !== 'name' && volume[key] !== null && volume[key] !== undefined) return key;
  return '';
}

function podVolumes(spec: Json | undefined): PodVolume[] {
  const volumes: PodVolume[] = [];
  for (const entry of asArray(spec?.volumes)) {
    const volume = asObject(entry);
    if (volume !== undefined) volumes.push({ name: asString(volume.name) ?? '', source: volumeSource(volume) });
  }
  return volumes;
}

function podConditions(status: Json | undefined): PodCondition[] {
  const conditions: PodCondition[] = [];
  for (const entry of asArray(status?.conditions)) {
    const condition = asObject(entry);
    if (condition === undefined) continue;
    conditions.push({ type: asString(condition.type) ?? '', status: asString(condition.status) ?? '', lastTransitionTime: asString(condition.lastTransitionTime) });
  }
  return conditions;
}

const sameReference = (a: PodOwnerReference, b: PodOwnerReference) =>
  a.apiVersion === b.apiVersion && a.kind === b.kind && a.name === b.name && a.uid === b.uid && a.controller === b.controller;

const sameList = <T>(a: readonly T[], b: readonly T[], same: (x: T, y: T) => boolean) => a.length === b.length && a.every((item, i) => same(item, b[i]));

/** Pods without a controller share their profiles under this anchor. */
const NO_OWNER = {};

/** One shared profile per distinct owner references, priority, service account and volume sources. */
function podProfile(metadata: Json, spec: Json | undefined, volumes: readonly PodVolume[], owner: OwnerRef | undefined, interner: Interner): PodProfile {
  const references = ownerReferences(metadata);
  const priorityClassName = asString(spec?.priorityClassName);
  const priority = asNumber(spec?.priority);
  const serviceAccountName = asString(spec?.serviceAccountName);
  const volumeSources = volumes.map((volume) => volume.source);
  return interner.anchoredTo<PodProfile>(
    owner ?? NO_OWNER,
    (profile) =>
      profile.priorityClassName === priorityClassName &&
      profile.priority === priority &&
      profile.serviceAccountName === serviceAccountName &&
      sameList(profile.volumeSources, volumeSources, (a, b) => a === b) &&
      sameList(profile.ownerReferences, references, sameReference),
    () =>
      Object.freeze({
        // Frozen here, not pooled again: the profile is the pooled value.
        ownerReferences: Object.freeze(
          references.map((reference) =>
            Object.freeze({
              apiVersion: interner.string(reference.apiVersion),
              kind: interner.string(reference.kind),
              name: interner.string(reference.name),
              uid: reference.uid,
              controller: reference.controller,
            }),
          ),
        ),
        priorityClassName: priorityClassName === undefined ? undefined : interner.string(priorityClassName),
        priority,
        serviceAccountName: serviceAccountName === undefined ? undefined : interner.string(serviceAccountName),
        volumeSources: interner.stringList(volumeSources),
        // Not interned: the token volume's name is this pod's own.
        volumeNames: Object.freeze(volumes.map((volume) => volume.name)),
      }),
  );
}

/** Seconds from `createdS` to `time`: 0 for no time, undefined when the time does not compress. */
function offsetOf(time: string | undefined, createdS: number | undefined): number | null | undefined {
  if (time === undefined) return null;
  const seconds = createdS === undefined ? undefined : wholeSeconds(time);
  return seconds === undefined ? undefined : seconds - createdS!;
}

/**
 * The pod's times as a creation second and a shared template of offsets when every time is a
 * whole second in UTC (as the API server writes them) and the pod is not being deleted; else as
 * the API gave them.
 */
function podTiming(metadata: Json, status: Json | undefined, conditions: readonly PodCondition[], interner: Interner): { timing: PodTiming; createdS?: number } {
  const created = asString(metadata.creationTimestamp);
  const deleted = asString(metadata.deletionTimestamp);
  const started = asString(status?.startTime);
  const createdS = created === undefined ? undefined : wholeSeconds(created);
  const startOffset = offsetOf(started, createdS);
  const offsets = conditions.map((condition) => offsetOf(condition.lastTransitionTime, createdS));
  if (deleted === undefined && (created === undefined) === (createdS === undefined) && startOffset !== undefined && !offsets.includes(undefined)) {
    const key = JSON.stringify(['timing', startOffset, conditions.map((condition, i) => [condition.type, condition.status, offsets[i]])]);
    const timing = interner.keyedBy(key, () =>
      Object.freeze(
        new TimingTemplate(
          Object.freeze(conditions.map((condition, i) => Object.freeze({ type: interner.string(condition.type), status: interner.string(condition.status), offsetS: offsets[i] ?? undefined }))),
          startOffset ?? undefined,
        ),
      ),
    );
    return { timing, createdS };
  }
  return { timing: new RawTiming(created, deleted, started, interner.list(conditions)) };
}

export function trimPod(raw: unknown, interner: Interner): Trimmed<PodFacts> {
  const identity = identify(raw, 'Pod', interner, true);
  if ('error' in identity) return identity;
  const { metadata, namespace, name } = identity;
  const spec = asObject((raw as Json).spec);
  const status = asObject((raw as Json).status);
  const nodeName = asString(spec?.nodeName);
  const volumes = podVolumes(spec);
  const conditions = podConditions(status);
  const { timing, createdS } = podTiming(metadata, status, conditions, interner);
  const annotations = cappedAnnotations(metadata.annotations, interner);
  const owner = controllerOf(metadata, interner);
  const profile = podProfile(metadata, spec, volumes, owner, interner);
  const pod = new IndexedPod(
    namespace,
    name,
    asString(metadata.uid) ?? '',
    compactVersion(asString(metadata.resourceVersion)),
    interner.record(scalarEntries(metadata.labels)),
    interner.string(asString(status?.phase) ?? ''),
    podFlags(
      conditions.some((condition) => condition.type === 'Ready' && condition.status === 'True'),
      typeof metadata.deletionTimestamp === 'string',
      volumes.some((volume) => volume.source === 'emptyDir'),
    ),
    // The API server omits an empty nodeName; hand-written snapshots may not.
    nodeName === undefined || nodeName === '' ? undefined : interner.string(nodeName),
    owner,
    annotations.layout,
    annotations.values,
    profile,
    timing,
    createdS,
    encodeVolumeNames(
      volumes.map((volume) => volume.name),
      profile.volumeNames,
    ),
  );
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
      annotations: annotationRecord(cappedAnnotations(metadata.annotations, interner)),
    },
  };
}

function nodeTaints(spec: Json | undefined, interner: Interner): readonly NodeTaint[] {
  const taints: NodeTaint[] = [];
  for (const entry of asArray(spec?.taints)) {
    const taint = asObject(entry);
    if (taint !== undefined) taints.push({ key: asString(taint.key) ?? '', value: asString(taint.value), effect: asString(taint.effect) ?? '' });
  }
  return interner.list(taints);
}

function nodeConditions(status: Json | undefined, interner: Interner): readonly NodeCondition[] {
  const conditions: NodeCondition[] = [];
  for (const entry of asArray(status?.conditions)) {
    const condition = asObject(entry);
    if (condition === undefined) continue;
    // No lastHeartbeatTime nor message: the kubelet rewrites them every few minutes, and keeping
    // them would make every node's conditions a list of its own.
    conditions.push({
      type: asString(condition.type) ?? '',
      status: asString(condition.status) ?? '',
      reason: asString(condition.reason),
      lastTransitionTime: asString(condition.lastTransitionTime),
    });
  }
  return interner.list(conditions);
}

export function trimNode(raw: unknown, interner: Interner): Trimmed<NodeFacts> {
  const identity = identify(raw, 'Node', interner, false);
  if ('error' in identity) return identity;
  const { metadata, name } = identity;
  const spec = asObject((raw as Json).spec);
  return {
    facts: {
      name,
      uid: asString(metadata.uid),
      labels: interner.record(scalarEntries(metadata.labels)),
      annotations: annotationRecord(cappedAnnotations(metadata.annotations, interner)),
      unschedulable: spec?.unschedulable === true,
      taints: nodeTaints(spec, interner),
      conditions: nodeConditions(asObject((raw as Json).status), interner),
    },
  };
}
