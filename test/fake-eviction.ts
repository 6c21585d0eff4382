// The pods/eviction subresource of the fake API server: POST
// /api/v1/namespaces/{ns}/pods/{name}/eviction, decided as kube-apiserver 1.33 decides it
// (k/k pkg/registry/core/pod/storage/eviction.go), in the order of eviction-semantics.md §1 so the
// two read side by side: the body checks, the validating webhooks (fake-admission.ts), the pod, the
// canIgnorePDB bypass, the PDB check with its status update, then the delete that watches see.
//
// The fake answers one request at a time between awaits, so the retry-on-conflict loops of
// eviction.go have nothing to retry; the PDB compare-and-swap is the plain read-modify-write below.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { selectorMatches } from '../src/pdb/selector';
import {
  BUDGET_VIOLATION_MESSAGE,
  DISRUPTED_PODS_TOO_BIG_MESSAGE,
  DISRUPTION_BUDGET_CAUSE,
  disruptedPodsTooBigCause,
  MAX_DISRUPTED_PODS,
  negativeBudgetCause,
  negativeBudgetMessage,
  OVERLAPPING_PDBS_MESSAGE,
  STALE_STATUS_RETRY_AFTER_SECONDS,
  stalePdbCause,
} from '../src/pdb/mirror';
import type { LabelSelector } from '../src/domain';
import type { AdmissionAttributes, ApiStatus, FakeAdmission } from './fake-admission';
import type { KubeObject } from './fake-apiserver';
import { isObject, readBody, statusBody, type Json } from './fake-http';

/** /api/v1/namespaces/{ns}/pods/{name}/eviction */
export const EVICTION_ROUTE = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/eviction$/;

/** What the eviction subresource reads and writes in the fake's store. */
export interface EvictionStore {
  read(kind: string, namespace: string, name: string): KubeObject | undefined;
  readAll(kind: string, namespace?: string): KubeObject[];
  upsert(object: KubeObject): string;
  remove(kind: string, namespace: string, name: string): boolean;
}

/** A pod an eviction deleted: marked terminating, or gone from the store. */
export interface PodDeletion {
  namespace: string;
  name: string;
  state: 'terminating' | 'gone';
  /** Epoch ms. */
  at: number;
}

/** One answered eviction, for tests to inspect. */
export interface EvictionRecord {
  namespace: string;
  name: string;
  code: number;
  dryRun: boolean;
}

const EVICTION_VERSIONS = ['policy/v1', 'policy/v1beta1'];
const EVICTION_KIND = { group: 'policy', version: 'v1', kind: 'Eviction' };
const PODS = { group: '', version: 'v1', resource: 'pods' };

interface Outcome {
  code: number;
  body: string;
  retryAfterSeconds?: number;
}

const failure = (status: ApiStatus): Outcome => ({
  code: status.code,
  body: statusBody(status.code, status.reason, status.message, status.details),
  retryAfterSeconds: status.details?.retryAfterSeconds,
});

const fail = (code: number, reason: string, message: string, details?: ApiStatus['details']): Outcome => failure({ code, reason, message, details });

/** Status{status: Success}; the create handler fills in 201 (create.go). */
const SUCCESS: Outcome = { code: 201, body: JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 }) };

const now = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');

/** `Warning: 299 - "text"`, as the API server sends admission warnings. */
const warningHeader = (text: string) => `299 - "${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

function isReady(pod: KubeObject): boolean {
  const conditions = ((pod.status as Json | undefined)?.conditions as { type: string; status: string }[] | undefined) ?? [];
  return conditions.some((condition) => condition.type === 'Ready' && condition.status === 'True');
}

/** canIgnorePDB: terminal (PR #68892), Pending (PR #83906) and deleting (PR #91342) pods skip PDBs. */
function canIgnorePdb(pod: KubeObject): boolean {
  const phase = (pod.status as Json | undefined)?.phase;
  return phase === 'Succeeded' || phase === 'Failed' || phase === 'Pending' || pod.metadata.deletionTimestamp !== undefined;
}

/** The ?dryRun= values (repeatable) and deleteOptions.dryRun, merged as propagateDryRun does. */
function dryRunValues(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((entry): entry is string => typeof entry === 'string') : [];
}

const sameValues = (a: string[], b: string[]) => a.length === b.length && a.every((value, index) => value === b[index]);

export class FakeEvictions {
  /**
   * How long an evicted pod stays terminating (deletionTimestamp set) before it is gone. 0, the
   * default, removes it at once; either way the pod's watchers see the delete.
   */
  terminationMs = 0;
  /** Every eviction answered, in order. */
  readonly answered: EvictionRecord[] = [];
  /**
   * What the evictions did to pods, in the order it happened: so a test can replay how many pods
   * were terminating at every moment, not just at the moments it looked.
   */
  readonly deletions: PodDeletion[] = [];

  private readonly terminations = new Set<NodeJS.Timeout>();

  constructor(
    private readonly store: EvictionStore,
    private readonly admission: FakeAdmission,
  ) {}

  handle(request: IncomingMessage, response: ServerResponse, match: RegExpExecArray, dryRunQuery: string[]): void {
    const [namespace, name] = match.slice(1).map(decodeURIComponent);
    void readBody(request)
      .then((text) => this.evict(namespace, name, text, dryRunQuery))
      .catch((error: unknown) => ({ outcome: fail(500, 'InternalError', `Internal error occurred: ${String(error)}`), warnings: [] as string[], dryRun: false }))
      .then(({ outcome, warnings, dryRun }) => {
        this.answered.push({ namespace, name, code: outcome.code, dryRun });
        const headers: Record<string, string | string[]> = { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(outcome.body)) };
        // responsewriters.ErrorNegotiated: a Status asking for a delay becomes a Retry-After header.
        if (outcome.retryAfterSeconds !== undefined && outcome.retryAfterSeconds > 0) headers['Retry-After'] = String(outcome.retryAfterSeconds);
        if (warnings.length > 0) headers.Warning = warnings.map(warningHeader);
        response.writeHead(outcome.code, headers);
        response.end(outcome.body);
      });
  }

  /** Stop the timers of pods still terminating. */
  close(): void {
    for (const timer of this.terminations) clearTimeout(timer);
    this.terminations.clear();
  }

  private async evict(namespace: string, name: string, text: string, dryRunQuery: string[]): Promise<{ outcome: Outcome; warnings: string[]; dryRun: boolean }> {
    const done = (outcome: Outcome, dryRun = false, warnings: string[] = []) => ({ outcome, warnings, dryRun });
    let eviction: Json;
    try {
      const parsed: unknown = JSON.parse(text);
      if (!isObject(parsed)) throw new Error('not a JSON object');
      eviction = parsed;
    } catch (error) {
      return done(fail(400, 'BadRequest', `couldn't get version/kind; json parse error: ${(error as Error).message}`));
    }

    // §1 step 1: EvictionREST.AcceptsGroupVersion takes policy/v1 and policy/v1beta1 bodies.
    const apiVersion = String(eviction.apiVersion ?? '');
    if (!EVICTION_VERSIONS.includes(apiVersion)) {
      return done(fail(400, '', `the API version in the data (${apiVersion}) does not match the expected API version (policy/v1)`));
    }
    // Step 2a.
    if (eviction.kind !== 'Eviction') return done(fail(400, 'BadRequest', `not a Eviction object: ${String(eviction.kind)}`));
    const metadata = isObject(eviction.metadata) ? eviction.metadata : {};
    // Step 2b; an empty metadata.name fails it too.
    if (metadata.name !== name) return done(fail(400, 'BadRequest', 'name in URL does not match name in Eviction object'));
    if (metadata.namespace !== undefined && metadata.namespace !== namespace) {
      return done(fail(400, 'BadRequest', 'the namespace of the provided object does not match the namespace sent on the request'));
    }
    const deleteOptions = isObject(eviction.deleteOptions) ? eviction.deleteOptions : undefined;
    // Step 2c (about 1.32 on).
    if (deleteOptions?.ignoreStoreReadErrorWithClusterBreakingPotential === true) {
      const field = 'deleteOptions.ignoreStoreReadErrorWithClusterBreakingPotential';
      return done(
        fail(422, 'Invalid', `Eviction.policy "${name}" is invalid: ${field}: Invalid value: true: can not be set for pod eviction, try after removing the option`, {
          name,
          group: 'policy',
          kind: 'Eviction',
          causes: [{ type: 'FieldValueInvalid', message: 'Invalid value: true: can not be set for pod eviction, try after removing the option', field }],
        }),
      );
    }
    // Step 3: propagateDryRun. Only the query reaches admission as request.dryRun (§2.2).
    const bodyDryRun = dryRunValues(deleteOptions?.dryRun);
    if (dryRunQuery.length > 0 && bodyDryRun.length > 0 && !sameValues(dryRunQuery, bodyDryRun)) {
      return done(fail(500, 'Unknown', `Non-matching dry-run options in request and content: [${dryRunQuery.join(' ')}] and [${bodyDryRun.join(' ')}]`));
    }
    const object: Json = { ...eviction, apiVersion: 'policy/v1', kind: 'Eviction', metadata: { ...metadata, namespace } };
    if (deleteOptions !== undefined && bodyDryRun.length === 0 && dryRunQuery.length > 0) object.deleteOptions = { ...deleteOptions, dryRun: dryRunQuery };
    const dryRun = dryRunQuery.includes('All') || bodyDryRun.includes('All');

    // Step 4: validating admission, before the pod or any PDB is read.
    const attributes: AdmissionAttributes = {
      kind: EVICTION_KIND,
      resource: PODS,
      subResource: 'eviction',
      namespace,
      name,
      operation: 'CREATE',
      object,
      dryRun: dryRunQuery.includes('All'),
      options: { apiVersion: 'meta.k8s.io/v1', kind: 'CreateOptions', ...(dryRunQuery.length > 0 ? { dryRun: dryRunQuery } : {}) },
    };
    const admission = await this.admission.validate(attributes);
    if (!admission.allowed) return done(failure(admission.status), dryRun, admission.warnings);
    const finish = (outcome: Outcome) => done(outcome, dryRun, admission.warnings);

    // Step 5.
    const pod = this.store.read('Pod', namespace, name);
    if (pod === undefined) return finish(fail(404, 'NotFound', `pods "${name}" not found`, { name, kind: 'pods' }));
    const preconditionConflict = this.preconditionConflict(pod, deleteOptions);
    if (preconditionConflict !== undefined) return finish(preconditionConflict);

    // Step 6: no PDB is read, so overlapping PDBs do not matter either.
    if (canIgnorePdb(pod)) return finish(this.deletePod(pod, dryRun, deleteOptions));

    // Step 7: every PDB of the namespace, filtered; an invalid selector matches nothing.
    const pdbs = this.store
      .readAll('PodDisruptionBudget', namespace)
      .filter((pdb) => selectorMatches(((pdb.spec as Json | undefined)?.selector as LabelSelector | undefined) ?? null, (pod.metadata.labels as Record<string, string> | undefined) ?? {}));
    if (pdbs.length > 1) return finish(fail(500, '', OVERLAPPING_PDBS_MESSAGE));
    if (pdbs.length === 0) return finish(this.deletePod(pod, dryRun, deleteOptions));
    const [pdb] = pdbs;
    const spec = (pdb.spec as Json | undefined) ?? {};
    const status = (pdb.status as Json | undefined) ?? {};
    const currentHealthy = Number(status.currentHealthy ?? 0);
    const desiredHealthy = Number(status.desiredHealthy ?? 0);

    // Step 8: the unready-pod shortcut reads the status as it is (no observedGeneration check, #99598).
    if (!isReady(pod) && (spec.unhealthyPodEvictionPolicy === 'AlwaysAllow' || (currentHealthy >= desiredHealthy && desiredHealthy > 0))) {
      return finish(this.deletePod(pod, dryRun, deleteOptions));
    }

    // Step 9: checkAndDecrement.
    const pdbName = pdb.metadata.name;
    const cause = (message: string) => [{ type: DISRUPTION_BUDGET_CAUSE, message }];
    if (Number(status.observedGeneration ?? 0) < Number(pdb.metadata.generation ?? 0)) {
      return finish(
        fail(429, 'TooManyRequests', BUDGET_VIOLATION_MESSAGE, { retryAfterSeconds: STALE_STATUS_RETRY_AFTER_SECONDS, causes: cause(stalePdbCause(pdbName)) }),
      );
    }
    const disruptionsAllowed = Number(status.disruptionsAllowed ?? 0);
    if (disruptionsAllowed < 0) {
      return finish(fail(403, 'Forbidden', negativeBudgetMessage(pdbName), { name: pdbName, group: 'policy', kind: 'poddisruptionbudget', causes: cause(negativeBudgetCause(pdbName)) }));
    }
    const disruptedPods = isObject(status.disruptedPods) ? status.disruptedPods : {};
    if (Object.keys(disruptedPods).length > MAX_DISRUPTED_PODS) {
      return finish(fail(403, 'Forbidden', DISRUPTED_PODS_TOO_BIG_MESSAGE, { causes: cause(disruptedPodsTooBigCause(pdbName)) }));
    }
    if (disruptionsAllowed === 0) {
      // 1.33 words; PR #133097 (2025) later picks the text from the DisruptionAllowed condition.
      return finish(
        fail(429, 'TooManyRequests', BUDGET_VIOLATION_MESSAGE, {
          causes: cause(`The disruption budget ${pdbName} needs ${desiredHealthy} healthy pods and has ${currentHealthy} currently`),
        }),
      );
    }
    if (!dryRun) {
      const allowed = disruptionsAllowed - 1;
      const conditions = ((status.conditions as Json[] | undefined) ?? []).filter((condition) => condition.type !== 'DisruptionAllowed');
      this.store.upsert({
        ...pdb,
        status: {
          ...status,
          disruptionsAllowed: allowed,
          disruptedPods: { ...disruptedPods, [name]: now() },
          // pdbhelper.UpdateDisruptionAllowedCondition
          conditions: [
            ...conditions,
            allowed > 0
              ? { type: 'DisruptionAllowed', status: 'True', reason: 'SufficientPods', observedGeneration: pdb.metadata.generation, lastTransitionTime: now() }
              : { type: 'DisruptionAllowed', status: 'False', reason: 'InsufficientPods', observedGeneration: pdb.metadata.generation, lastTransitionTime: now() },
          ],
        },
      });
    }
    // Step 10.
    return finish(this.deletePod(pod, dryRun, deleteOptions));
  }

  /** A client's UID or resourceVersion precondition that the pod no longer meets: 409 (§2.6). */
  private preconditionConflict(pod: KubeObject, deleteOptions: Json | undefined): Outcome | undefined {
    const preconditions = isObject(deleteOptions?.preconditions) ? deleteOptions.preconditions : {};
    const conflict = (detail: string) => fail(409, 'Conflict', `Operation cannot be fulfilled on pods "${pod.metadata.name}": ${detail}`, { name: pod.metadata.name, kind: 'pods' });
    if (typeof preconditions.uid === 'string' && preconditions.uid !== pod.metadata.uid) {
      return conflict(
        `the UID in the precondition (${preconditions.uid}) does not match the UID in record (${String(pod.metadata.uid)}). The object might have been deleted and then recreated`,
      );
    }
    if (typeof preconditions.resourceVersion === 'string' && preconditions.resourceVersion !== pod.metadata.resourceVersion) {
      return conflict(
        `the ResourceVersion in the precondition (${preconditions.resourceVersion}) does not match the ResourceVersion in record (${String(pod.metadata.resourceVersion)}). The object might have been modified`,
      );
    }
    return undefined;
  }

  /**
   * addConditionAndDeletePod: the DisruptionTarget condition (PodDisruptionConditions, GA in 1.31),
   * then the delete: gone at once, or terminating for `terminationMs` first. A dry run writes nothing.
   */
  private deletePod(pod: KubeObject, dryRun: boolean, deleteOptions: Json | undefined): Outcome {
    if (dryRun) return SUCCESS;
    const { namespace = '', name } = pod.metadata;
    if (pod.metadata.deletionTimestamp !== undefined) return SUCCESS; // already terminating: its delete is under way
    const status = (pod.status as Json | undefined) ?? {};
    const conditions = ((status.conditions as Json[] | undefined) ?? []).filter((condition) => condition.type !== 'DisruptionTarget');
    const disruptionTarget = { type: 'DisruptionTarget', status: 'True', reason: 'EvictionByEvictionAPI', message: 'Eviction API: evicting', lastTransitionTime: now() };
    const marked: KubeObject = { ...pod, status: { ...status, conditions: [...conditions, disruptionTarget] } };
    this.store.upsert(marked);
    const record = (state: PodDeletion['state']) => this.deletions.push({ namespace, name, state, at: Date.now() });
    if (this.terminationMs <= 0) {
      this.store.remove('Pod', namespace, name);
      record('gone');
      return SUCCESS;
    }
    const gracePeriodSeconds =
      typeof deleteOptions?.gracePeriodSeconds === 'number' ? deleteOptions.gracePeriodSeconds : Number((pod.spec as Json | undefined)?.terminationGracePeriodSeconds ?? 30);
    this.store.upsert({ ...marked, metadata: { ...marked.metadata, deletionTimestamp: now(), deletionGracePeriodSeconds: gracePeriodSeconds } });
    record('terminating');
    const uid = pod.metadata.uid;
    const timer = setTimeout(() => {
      this.terminations.delete(timer);
      if (this.store.read('Pod', namespace, name)?.metadata.uid !== uid) return;
      this.store.remove('Pod', namespace, name);
      record('gone');
    }, this.terminationMs);
    this.terminations.add(timer);
    return SUCCESS;
  }
}
