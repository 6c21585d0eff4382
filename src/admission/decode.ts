import type { EvictionAttempt, Requester } from '../domain';

const ADMISSION_REVIEW_VERSIONS = ['admission.k8s.io/v1', 'admission.k8s.io/v1beta1'] as const;
export type AdmissionReviewVersion = (typeof ADMISSION_REVIEW_VERSIONS)[number];

const EVICTION_VERSIONS = ['policy/v1', 'policy/v1beta1'] as const;
type EvictionVersion = (typeof EVICTION_VERSIONS)[number];

/** A CREATE pods/eviction request, ready for a decision. */
export interface DecodedEviction {
  outcome: 'eviction';
  version: AdmissionReviewVersion;
  attempt: EvictionAttempt;
}

/** A well-formed review of something other than CREATE pods/eviction: a misconfigured webhook rule. */
export interface NotAnEviction {
  outcome: 'not-eviction';
  version: AdmissionReviewVersion;
  uid: string;
  /** What was reviewed, for the log, e.g. "UPDATE apps/v1 deployments default/web". */
  description: string;
}

/** A CREATE or UPDATE of a PodDisruptionBudget, for the PDB admission guard. */
export interface DecodedPdbChange {
  outcome: 'pdb-change';
  version: AdmissionReviewVersion;
  uid: string;
  operation: 'CREATE' | 'UPDATE';
  /** request.namespace: on CREATE the object may not carry one yet. */
  namespace: string;
  /** request.name, else object metadata.name, else `<generateName>*` for a generated name. */
  name: string;
  /** request.object: the PDB as it is about to be stored (policy/v1, as the rule asks for). */
  object: JsonObject;
  requester: Requester;
  dryRun: boolean;
}

/** A body that cannot be answered as an AdmissionReview: the caller replies with httpStatus and message. */
export interface RejectedReview {
  outcome: 'rejected';
  httpStatus: 400;
  message: string;
}

export type DecodedReview = DecodedEviction | DecodedPdbChange | NotAnEviction | RejectedReview;

type JsonObject = Record<string, unknown>;
type Decoded<T> = { ok: true; value: T } | { ok: false; problem: string };

/**
 * Decodes an AdmissionReview (admission.k8s.io/v1 or v1beta1). Only this module and encode.ts know
 * the wire format; everything else sees an EvictionAttempt.
 */
export function decodeAdmissionReview(body: unknown): DecodedReview {
  if (!isObject(body)) return reject(`body: expected a JSON object (an AdmissionReview), got ${describe(body)}`);

  const version = body.apiVersion;
  if (!isReviewVersion(version)) {
    return reject(`apiVersion: expected ${quoteAll(ADMISSION_REVIEW_VERSIONS)}, got ${describe(version)}`);
  }
  if (body.kind !== 'AdmissionReview') return reject(`kind: expected "AdmissionReview", got ${describe(body.kind)}`);

  const request = body.request;
  if (!isObject(request)) return reject(`request: required object, got ${describe(request)}`);
  const uid = request.uid;
  if (typeof uid !== 'string' || uid === '') return reject(`request.uid: required non-empty string, got ${describe(uid)}`);

  if (isPdbChange(request)) return decodePdbChange(request, version, uid);
  if (!isEvictionCreate(request)) return { outcome: 'not-eviction', version, uid, description: describeRequest(request) };

  const evictionVersion = decodeEvictionVersion(request);
  if (!evictionVersion.ok) return reject(evictionVersion.problem);

  // The pod comes from the URL, never object.metadata: some clients send Evictions without a
  // namespace (strimzi/drain-cleaner#34), and the API server checks the name against the URL.
  const namespace = request.namespace;
  if (typeof namespace !== 'string' || namespace === '') {
    return reject(`request.namespace: required non-empty string for a pods/eviction CREATE, got ${describe(namespace)}`);
  }
  const podName = request.name;
  if (typeof podName !== 'string' || podName === '') {
    return reject(`request.name: required non-empty string for a pods/eviction CREATE, got ${describe(podName)}`);
  }

  const requester = decodeRequester(request.userInfo);
  if (!requester.ok) return reject(requester.problem);
  const deleteOptions = decodeDeleteOptions(request.object);
  if (!deleteOptions.ok) return reject(deleteOptions.problem);
  const requestDryRun = request.dryRun;
  if (requestDryRun !== undefined && requestDryRun !== null && typeof requestDryRun !== 'boolean') {
    return reject(`request.dryRun: expected boolean, got ${describe(requestDryRun)}`);
  }

  const attempt: EvictionAttempt = {
    uid,
    namespace,
    podName,
    evictionVersion: evictionVersion.value,
    requester: requester.value,
    // request.dryRun reflects only the ?dryRun= query; a dry run asked for in the body shows only
    // in deleteOptions (docs/eviction-semantics.md §2.2).
    dryRun: requestDryRun === true || deleteOptions.value.dryRunAll,
  };
  if (deleteOptions.value.gracePeriodSeconds !== undefined) attempt.gracePeriodSeconds = deleteOptions.value.gracePeriodSeconds;
  if (deleteOptions.value.preconditionUid !== undefined) attempt.preconditionUid = deleteOptions.value.preconditionUid;
  return { outcome: 'eviction', version, attempt };
}

function isEvictionCreate(request: JsonObject): boolean {
  const resource = isObject(request.resource) ? request.resource : {};
  return (
    request.operation === 'CREATE' &&
    (resource.group ?? '') === '' &&
    resource.resource === 'pods' &&
    request.subResource === 'eviction'
  );
}

function isPdbChange(request: JsonObject): boolean {
  const resource = isObject(request.resource) ? request.resource : {};
  return (
    (request.operation === 'CREATE' || request.operation === 'UPDATE') &&
    resource.group === 'policy' &&
    resource.resource === 'poddisruptionbudgets' &&
    (request.subResource === undefined || request.subResource === null || request.subResource === '')
  );
}

function decodePdbChange(request: JsonObject, version: AdmissionReviewVersion, uid: string): DecodedPdbChange | RejectedReview {
  const object = request.object;
  if (!isObject(object)) return reject(`request.object: expected a PodDisruptionBudget object, got ${describe(object)}`);
  if (object.kind !== 'PodDisruptionBudget') return reject(`request.object.kind: expected "PodDisruptionBudget", got ${describe(object.kind)}`);
  if (object.apiVersion !== 'policy/v1') return reject(`request.object.apiVersion: expected "policy/v1", got ${describe(object.apiVersion)}`);
  const namespace = request.namespace;
  if (typeof namespace !== 'string' || namespace === '') {
    return reject(`request.namespace: required non-empty string for a poddisruptionbudgets ${String(request.operation)}, got ${describe(namespace)}`);
  }
  const metadata = isObject(object.metadata) ? object.metadata : {};
  const name =
    [request.name, metadata.name].find((candidate): candidate is string => typeof candidate === 'string' && candidate !== '') ??
    `${typeof metadata.generateName === 'string' ? metadata.generateName : ''}*`;
  const requester = decodeRequester(request.userInfo);
  if (!requester.ok) return reject(requester.problem);
  return {
    outcome: 'pdb-change',
    version,
    uid,
    operation: request.operation as 'CREATE' | 'UPDATE',
    namespace,
    name,
    object,
    requester: requester.value,
    dryRun: request.dryRun === true,
  };
}

/** The Eviction's apiVersion from the object, or from request.kind when the object is absent. */
function decodeEvictionVersion(request: JsonObject): Decoded<EvictionVersion> {
  const object = request.object;
  if (object !== undefined && object !== null) {
    if (!isObject(object)) return problem(`request.object: expected an Eviction object, got ${describe(object)}`);
    if (object.kind !== 'Eviction') return problem(`request.object.kind: expected "Eviction", got ${describe(object.kind)}`);
    if (!isEvictionVersion(object.apiVersion)) {
      return problem(`request.object.apiVersion: expected ${quoteAll(EVICTION_VERSIONS)}, got ${describe(object.apiVersion)}`);
    }
    return { ok: true, value: object.apiVersion };
  }
  const kind = isObject(request.kind) ? request.kind : {};
  const apiVersion = typeof kind.group === 'string' && typeof kind.version === 'string' ? `${kind.group}/${kind.version}` : undefined;
  if (kind.kind !== 'Eviction' || !isEvictionVersion(apiVersion)) {
    const got = isObject(request.kind) ? `${describe(apiVersion)} ${describe(kind.kind)}` : describe(request.kind);
    return problem(`request.kind: expected Eviction of ${quoteAll(EVICTION_VERSIONS)} (request.object is absent), got ${got}`);
  }
  return { ok: true, value: apiVersion };
}

/** userInfo without `extra`, which can carry credentials and is never kept. */
function decodeRequester(userInfo: unknown): Decoded<Requester> {
  if (userInfo === undefined || userInfo === null) return { ok: true, value: { username: '', groups: [] } };
  if (!isObject(userInfo)) return problem(`request.userInfo: expected object, got ${describe(userInfo)}`);
  const { username, uid, groups } = userInfo;
  if (username !== undefined && typeof username !== 'string') {
    return problem(`request.userInfo.username: expected string, got ${describe(username)}`);
  }
  if (uid !== undefined && typeof uid !== 'string') return problem(`request.userInfo.uid: expected string, got ${describe(uid)}`);
  if (groups !== undefined && groups !== null && !isStringArray(groups)) {
    return problem(`request.userInfo.groups: expected an array of strings, got ${describe(groups)}`);
  }
  const requester: Requester = { username: username ?? '', groups: groups ? [...groups] : [] };
  if (uid) requester.uid = uid;
  return { ok: true, value: requester };
}

interface EvictionDeleteOptions {
  dryRunAll: boolean;
  gracePeriodSeconds?: number;
  preconditionUid?: string;
}

function decodeDeleteOptions(object: unknown): Decoded<EvictionDeleteOptions> {
  const deleteOptions = isObject(object) ? object.deleteOptions : undefined;
  if (deleteOptions === undefined || deleteOptions === null) return { ok: true, value: { dryRunAll: false } };
  if (!isObject(deleteOptions)) return problem(`request.object.deleteOptions: expected object, got ${describe(deleteOptions)}`);

  const { dryRun, gracePeriodSeconds, preconditions } = deleteOptions;
  if (dryRun !== undefined && dryRun !== null && !isStringArray(dryRun)) {
    return problem(`request.object.deleteOptions.dryRun: expected an array of strings such as ["All"], got ${describe(dryRun)}`);
  }
  if (gracePeriodSeconds !== undefined && gracePeriodSeconds !== null && !Number.isInteger(gracePeriodSeconds)) {
    return problem(`request.object.deleteOptions.gracePeriodSeconds: expected an integer, got ${describe(gracePeriodSeconds)}`);
  }
  if (preconditions !== undefined && preconditions !== null && !isObject(preconditions)) {
    return problem(`request.object.deleteOptions.preconditions: expected object, got ${describe(preconditions)}`);
  }
  const preconditionUid = preconditions?.uid;
  if (preconditionUid !== undefined && preconditionUid !== null && typeof preconditionUid !== 'string') {
    return problem(`request.object.deleteOptions.preconditions.uid: expected string, got ${describe(preconditionUid)}`);
  }
  const options: EvictionDeleteOptions = { dryRunAll: dryRun?.includes('All') ?? false };
  if (typeof gracePeriodSeconds === 'number') options.gracePeriodSeconds = gracePeriodSeconds;
  if (typeof preconditionUid === 'string' && preconditionUid !== '') options.preconditionUid = preconditionUid;
  return { ok: true, value: options };
}

/** "UPDATE apps/v1 deployments default/web", from whatever the review carries. */
function describeRequest(request: JsonObject): string {
  const resource = isObject(request.resource) ? request.resource : {};
  const groupVersion = [resource.group, resource.version].filter((part) => typeof part === 'string' && part !== '').join('/');
  const resourceName = [resource.resource, request.subResource].filter((part) => typeof part === 'string' && part !== '').join('/');
  const objectName = [request.namespace, request.name].filter((part) => typeof part === 'string' && part !== '').join('/');
  const operation = typeof request.operation === 'string' && request.operation !== '' ? request.operation : '(no operation)';
  return [operation, groupVersion, resourceName || '(no resource)', objectName].filter((part) => part !== '').join(' ');
}

function reject(message: string): RejectedReview {
  return { outcome: 'rejected', httpStatus: 400, message: `invalid AdmissionReview: ${message}` };
}

function problem(message: string): { ok: false; problem: string } {
  return { ok: false, problem: message };
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

function isReviewVersion(value: unknown): value is AdmissionReviewVersion {
  return (ADMISSION_REVIEW_VERSIONS as readonly unknown[]).includes(value);
}

function isEvictionVersion(value: unknown): value is EvictionVersion {
  return (EVICTION_VERSIONS as readonly unknown[]).includes(value);
}

function quoteAll(values: readonly string[]): string {
  return values.map((value) => `"${value}"`).join(' or ');
}

const MAX_SHOWN_VALUE = 60;

/** A short rendering of an offending value; bounded, since it goes back to the sender and into logs. */
function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object' && value !== null) return 'an object';
  const shown = JSON.stringify(value);
  return shown.length > MAX_SHOWN_VALUE ? `${shown.slice(0, MAX_SHOWN_VALUE)}…` : shown;
}
