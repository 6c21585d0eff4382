// How the index stores a pod: the facts decisions read on every eviction are own fields, and the
// fields only policies, drain filters and lint read (volumes, conditions, timestamps, owner
// references, priority, service account) are getters over compact storage. 100k pods each carrying
// their own condition list, volume objects and timestamp strings cost more than the rest of the
// index (see docs/architecture.md, "The index").
import { plainPod } from '../domain';
import type { AnnotationLayout } from './intern';
import type { OwnerRef, PodCondition, PodFacts, PodOwnerReference, PodVolume } from '../domain';

/** What the pods of one workload share: one object per distinct combination (interned). */
export interface PodProfile {
  readonly ownerReferences: readonly PodOwnerReference[];
  readonly priorityClassName?: string;
  readonly priority?: number;
  readonly serviceAccountName?: string;
  /** The source of each volume, in spec order. */
  readonly volumeSources: readonly string[];
  /** The volume names of the pod the profile was made from: each pod keeps how its own differ (PodVolumeNames). */
  readonly volumeNames: readonly string[];
}

/** A condition of a timing template: its time as seconds after the pod's creation. */
export interface TimedCondition {
  readonly type: string;
  readonly status: string;
  readonly offsetS?: number;
}

/**
 * A pod's timestamps. Most pods store only their creation second and a shared template of
 * offsets (pods come up alike: Ready 9 s after creation); a pod whose times do not fit that form
 * (not whole seconds in UTC, a deletion time, no creation time) keeps its strings.
 */
export interface PodTiming {
  creationTimestamp(createdS: number | undefined): string | undefined;
  deletionTimestamp(): string | undefined;
  startTime(createdS: number | undefined): string | undefined;
  conditions(createdS: number | undefined): readonly PodCondition[];
}

const WHOLE_SECOND_UTC = /^(\d{4}-\d{2}-\d{2})T(\d{2}):(\d{2}):(\d{2})Z$/;

/** A metav1.Time as the API server writes it, from epoch seconds. */
export const formatSeconds = (seconds: number): string => `${new Date(seconds * 1000).toISOString().slice(0, 19)}Z`;

/** Epoch seconds of recent days (YYYY-MM-DD), each checked once: a pod's times fall on a few days. */
const daySeconds = new Map<string, number | undefined>();
const MAX_DAYS = 4096;

function secondsOfDay(day: string): number | undefined {
  if (daySeconds.has(day)) return daySeconds.get(day);
  const ms = Date.parse(`${day}T00:00:00Z`);
  // Date.parse takes 2025-02-30 as March 2nd: only a day that formats back is one.
  const seconds = Number.isFinite(ms) && formatSeconds(ms / 1000).startsWith(day) ? ms / 1000 : undefined;
  if (daySeconds.size >= MAX_DAYS) daySeconds.clear();
  daySeconds.set(day, seconds);
  return seconds;
}

/** Epoch seconds of an RFC 3339 time that formatSeconds gives back exactly, else undefined. */
export function wholeSeconds(time: string): number | undefined {
  const parts = WHOLE_SECOND_UTC.exec(time);
  if (parts === null) return undefined;
  const day = secondsOfDay(parts[1]);
  const [hours, minutes, seconds] = [Number(parts[2]), Number(parts[3]), Number(parts[4])];
  // A leap second (:60) or 24:00:00 formats as another time: kept as a string.
  if (day === undefined || hours > 23 || minutes > 59 || seconds > 59) return undefined;
  return small(day + hours * 3600 + minutes * 60 + seconds);
}

/** Offsets from the pod's creation second, shared by every pod that came up the same way. */
export class TimingTemplate implements PodTiming {
  constructor(
    readonly timedConditions: readonly TimedCondition[],
    readonly startOffsetS: number | undefined,
  ) {}

  creationTimestamp(createdS: number | undefined): string | undefined {
    return createdS === undefined ? undefined : formatSeconds(createdS);
  }

  deletionTimestamp(): undefined {
    return undefined;
  }

  startTime(createdS: number | undefined): string | undefined {
    return createdS === undefined || this.startOffsetS === undefined ? undefined : formatSeconds(createdS + this.startOffsetS);
  }

  conditions(createdS: number | undefined): readonly PodCondition[] {
    return this.timedConditions.map(({ type, status, offsetS }) => ({
      type,
      status,
      lastTransitionTime: createdS === undefined || offsetS === undefined ? undefined : formatSeconds(createdS + offsetS),
    }));
  }
}

/** The timestamps as the API gave them, for a pod they do not compress for. */
export class RawTiming implements PodTiming {
  constructor(
    private readonly created: string | undefined,
    private readonly deleted: string | undefined,
    private readonly started: string | undefined,
    private readonly conditionList: readonly PodCondition[],
  ) {}

  creationTimestamp(): string | undefined {
    return this.created;
  }

  deletionTimestamp(): string | undefined {
    return this.deleted;
  }

  startTime(): string | undefined {
    return this.started;
  }

  conditions(): readonly PodCondition[] {
    return this.conditionList;
  }
}

/** Volume names can hold no NUL (they are DNS labels): the separator of a pod's encoded names. */
const NAME_SEPARATOR = '\u0000';
/** The longest prefix an encoded name can take from its reference name (one UTF-16 code unit). */
const MAX_PREFIX = 0xfffe;

/**
 * A pod's volume names, against the names of the pod its profile was made from: for each volume,
 * one character giving how much of the reference name it starts with (plus one), then the rest;
 * '' when all are the reference's. Pods of a workload differ only in the token volume's random
 * suffix (kube-api-access-<5 characters>): that suffix is what each pod keeps. A name holding the
 * separator keeps the list as it is.
 */
export type PodVolumeNames = string | readonly string[];

export function encodeVolumeNames(names: readonly string[], reference: readonly string[]): PodVolumeNames {
  if (names.length === reference.length && names.every((name, i) => name === reference[i])) return '';
  // No names against a reference with some would encode as '': kept as the (empty) list.
  if (names.length === 0 || names.some((name) => name.includes(NAME_SEPARATOR))) return names;
  return names
    .map((name, i) => {
      const base = reference[i] ?? '';
      let prefix = 0;
      while (prefix < name.length && prefix < base.length && prefix < MAX_PREFIX && name.charCodeAt(prefix) === base.charCodeAt(prefix)) prefix++;
      return String.fromCharCode(prefix + 1) + name.slice(prefix);
    })
    .join(NAME_SEPARATOR);
}

export function decodeVolumeNames(names: PodVolumeNames, reference: readonly string[]): readonly string[] {
  if (typeof names !== 'string') return names;
  if (names === '') return reference;
  return names.split(NAME_SEPARATOR).map((item, i) => (reference[i] ?? '').slice(0, item.charCodeAt(0) - 1) + item.slice(1));
}

const READY = 1;
const DELETING = 2;
const EMPTY_DIR = 4;

export const podFlags = (ready: boolean, deleting: boolean, hasEmptyDir: boolean): number => (ready ? READY : 0) | (deleting ? DELETING : 0) | (hasEmptyDir ? EMPTY_DIR : 0);

/** The largest integer V8 keeps in a field as is (a Smi) on 64-bit; a larger number takes a 16-byte box. */
const SMALL_MAX = 0x7fffffff;

/** A resourceVersion that reads back the same as a small integer, else as it is. */
export function compactVersion(version: string | undefined): number | string | undefined {
  if (version === undefined || !/^[1-9]\d{0,9}$/.test(version)) return version;
  const number = Number(version);
  return number <= SMALL_MAX ? number | 0 : version;
}

/** A whole number as a Smi when it fits: computed in floating point, it would otherwise be boxed. */
const small = (value: number): number => (value >= -SMALL_MAX - 1 && value <= SMALL_MAX ? value | 0 : value);

/**
 * A pod as the index keeps it. It implements PodFacts: read it as one. The getters build their
 * value on each read, so a caller that needs a plain object (a spread, a structured copy) uses
 * plainPod() — `{ ...pod }` would drop every getter.
 */
export class IndexedPod implements PodFacts {
  constructor(
    readonly namespace: string,
    readonly name: string,
    readonly uid: string,
    /** A decimal resourceVersion as a small integer (V8 stores it in the field), else the string. */
    private readonly version: number | string | undefined,
    readonly labels: Readonly<Record<string, string>>,
    readonly phase: string,
    /** READY | DELETING | EMPTY_DIR: one small integer instead of three fields. */
    private readonly flags: number,
    readonly nodeName: string | undefined,
    readonly owner: OwnerRef | undefined,
    /** Undefined when annotationValues is the whole (pooled) record. */
    private readonly annotationLayout: AnnotationLayout | undefined,
    private readonly annotationValues: Readonly<Record<string, string>> | string | readonly string[],
    private readonly profile: PodProfile,
    private readonly timing: PodTiming,
    /** metadata.creationTimestamp in epoch seconds, when timing is a template. */
    private readonly createdS: number | undefined,
    private readonly names: PodVolumeNames,
  ) {}

  get resourceVersion(): string | undefined {
    return typeof this.version === 'number' ? String(this.version) : this.version;
  }

  get ready(): boolean {
    return (this.flags & READY) !== 0;
  }

  get deleting(): boolean {
    return (this.flags & DELETING) !== 0;
  }

  get hasEmptyDir(): boolean {
    return (this.flags & EMPTY_DIR) !== 0;
  }

  get annotations(): Readonly<Record<string, string>> {
    return this.annotationLayout === undefined ? (this.annotationValues as Readonly<Record<string, string>>) : this.annotationLayout.record(this.annotationValues as string | readonly string[]);
  }

  /** One annotation, without building the record: the webhook reads one (the protect annotation) on every eviction. */
  annotation(key: string): string | undefined {
    return this.annotationLayout === undefined ? (this.annotationValues as Readonly<Record<string, string>>)[key] : this.annotationLayout.value(this.annotationValues as string | readonly string[], key);
  }

  get creationTimestamp(): string | undefined {
    return this.timing.creationTimestamp(this.createdS);
  }

  get deletionTimestamp(): string | undefined {
    return this.timing.deletionTimestamp();
  }

  get startTime(): string | undefined {
    return this.timing.startTime(this.createdS);
  }

  get conditions(): readonly PodCondition[] {
    return this.timing.conditions(this.createdS);
  }

  get ownerReferences(): readonly PodOwnerReference[] {
    return this.profile.ownerReferences;
  }

  get priorityClassName(): string | undefined {
    return this.profile.priorityClassName;
  }

  get priority(): number | undefined {
    return this.profile.priority;
  }

  get serviceAccountName(): string | undefined {
    return this.profile.serviceAccountName;
  }

  get volumes(): readonly PodVolume[] {
    const sources = this.profile.volumeSources;
    return decodeVolumeNames(this.names, this.profile.volumeNames).map((name, i) => ({ name, source: sources[i] }));
  }

  /** JSON output (reports, snapshots of decisions) shows the facts, not the storage. */
  toJSON(): PodFacts {
    return plainPod(this);
  }
}
