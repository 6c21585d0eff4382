// coordination.k8s.io/v1 Leases for the fake API server: get, list (with a label selector), create
// (POST, 409 AlreadyExists), update (PUT, 409 Conflict when metadata.resourceVersion is stale) and
// delete (with a resourceVersion precondition), validated as the API server validates a Lease.
// Leases are not watched. Switches make every Lease call fail with 500 or never answer, for the
// tests of what the webhook does when its records cannot be written.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { isObject, statusBody } from './fake-http';

/** /apis/coordination.k8s.io/v1/namespaces/{ns}/leases and /apis/coordination.k8s.io/v1/namespaces/{ns}/leases/{name}. */
export const LEASES_ROUTE = /^\/apis\/coordination\.k8s\.io\/v1\/namespaces\/([^/]+)\/leases(?:\/([^/]+))?$/;

const QUALIFIED = 'leases.coordination.k8s.io';
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** metav1.MicroTime's wire format (RFC3339Micro): exactly six fractional digits. */
const MICRO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}(Z|[+-]\d{2}:\d{2})$/;

export interface StoredLease {
  metadata: {
    name: string;
    namespace: string;
    uid: string;
    resourceVersion: string;
    creationTimestamp: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec?: { holderIdentity?: string; leaseDurationSeconds?: number; acquireTime?: string; renewTime?: string; [key: string]: unknown };
}

export interface LeaseCall {
  method: string;
  namespace: string;
  name?: string;
  status: number;
}

type Send = (code: number, body: string) => void;
type Json = Record<string, unknown>;



/** The problems ValidateLease (and object meta validation) would report; [] when valid. */
function leaseProblems(lease: Json): string[] {
  const problems: string[] = [];
  const metadata = isObject(lease.metadata) ? lease.metadata : {};
  const name = metadata.name;
  if (typeof name !== 'string' || name.length > 253 || !DNS_SUBDOMAIN.test(name)) problems.push(`metadata.name: Invalid value: ${JSON.stringify(name)}: a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.'`);
  const spec = isObject(lease.spec) ? lease.spec : {};
  const duration = spec.leaseDurationSeconds;
  if (duration !== undefined && (!Number.isInteger(duration) || (duration as number) <= 0)) problems.push('spec.leaseDurationSeconds: Invalid value: must be greater than 0');
  for (const field of ['acquireTime', 'renewTime']) {
    const time = spec[field];
    if (time !== undefined && (typeof time !== 'string' || !MICRO_TIME.test(time))) problems.push(`spec.${field}: Invalid value: ${JSON.stringify(time)}: not a MicroTime`);
  }
  for (const field of ['labels', 'annotations']) {
    const map = metadata[field];
    if (map !== undefined && (!isObject(map) || Object.values(map).some((value) => typeof value !== 'string'))) problems.push(`metadata.${field}: Invalid value: values must be strings`);
  }
  return problems;
}

/** Equality requirements only (`a=b,c=d`), which is what the webhook lists by. */
function matchesSelector(labels: Record<string, string> | undefined, selector: string | null): boolean {
  if (!selector) return true;
  return selector.split(',').every((requirement) => {
    const [key, value] = requirement.split('=');
    return labels?.[key] === value;
  });
}

export class FakeLeases {
  /** While true, every Lease call answers 500 InternalError. */
  failing = false;
  /** While true, Lease calls are accepted and never answered, so only client timeouts end them. */
  stalled = false;
  /** Every Lease call, with the status answered, as the answers go out. */
  readonly calls: LeaseCall[] = [];

  private readonly stored = new Map<string, StoredLease>();

  constructor(private readonly nextResourceVersion: () => string) {}

  /** Stored Leases, optionally of one namespace, in creation order. */
  list(namespace?: string): StoredLease[] {
    return [...this.stored.values()].filter((lease) => namespace === undefined || lease.metadata.namespace === namespace);
  }

  get(namespace: string, name: string): StoredLease | undefined {
    return this.stored.get(`${namespace}/${name}`);
  }

  /** Stores a Lease as it is, as if someone else had created it. */
  seed(namespace: string, lease: { metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> }; spec?: object }): void {
    this.store(namespace, { kind: 'Lease', apiVersion: 'coordination.k8s.io/v1', ...lease });
  }

  /** Calls answered with this status, optionally of one method. */
  answered(status: number, method?: string): LeaseCall[] {
    return this.calls.filter((call) => call.status === status && (method === undefined || call.method === method));
  }

  handle(request: IncomingMessage, match: RegExpExecArray, query: URLSearchParams, send: Send): void {
    const [namespace, name] = match.slice(1).map((part) => (part === undefined ? undefined : decodeURIComponent(part))) as [string, string | undefined];
    const method = request.method ?? 'GET';
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      if (this.stalled) return;
      const answer: Send = (code, body) => {
        this.calls.push({ method, namespace, name, status: code });
        send(code, body);
      };
      if (this.failing) {
        answer(500, statusBody(500, 'InternalError', 'Internal error occurred: the fake Lease API is failing'));
        return;
      }
      const text = Buffer.concat(chunks).toString('utf8');
      let body: Json = {};
      if (text !== '') {
        try {
          const parsed: unknown = JSON.parse(text);
          if (!isObject(parsed)) throw new Error('not an object');
          body = parsed;
        } catch {
          answer(400, statusBody(400, 'BadRequest', 'the body of the request is not a JSON object'));
          return;
        }
      }
      if (method === 'GET' && name === undefined) this.listLeases(namespace, query.get('labelSelector'), answer);
      else if (method === 'GET') this.getLease(namespace, name!, answer);
      else if (method === 'POST' && name === undefined) this.create(namespace, body, answer);
      else if (method === 'PUT' && name !== undefined) this.update(namespace, name, body, answer);
      else if (method === 'DELETE' && name !== undefined) this.delete(namespace, name, body, answer);
      else answer(405, statusBody(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource'));
    });
  }

  private notFound(name: string, send: Send): void {
    send(404, statusBody(404, 'NotFound', `${QUALIFIED} "${name}" not found`));
  }

  private listLeases(namespace: string, selector: string | null, send: Send): void {
    const items = this.list(namespace).filter((lease) => matchesSelector(lease.metadata.labels, selector));
    send(200, JSON.stringify({ kind: 'LeaseList', apiVersion: 'coordination.k8s.io/v1', metadata: { resourceVersion: this.nextResourceVersion() }, items }));
  }

  private getLease(namespace: string, name: string, send: Send): void {
    const lease = this.get(namespace, name);
    if (lease === undefined) this.notFound(name, send);
    else send(200, JSON.stringify({ kind: 'Lease', apiVersion: 'coordination.k8s.io/v1', ...lease }));
  }

  /** The checks create and update share; answers and returns false when the body cannot be stored. */
  private acceptable(namespace: string, body: Json, send: Send): body is Json & { metadata: Json } {
    const metadata = isObject(body.metadata) ? body.metadata : {};
    if (body.kind !== 'Lease' || body.apiVersion !== 'coordination.k8s.io/v1') {
      send(400, statusBody(400, 'BadRequest', `expected a coordination.k8s.io/v1 Lease, got ${String(body.apiVersion)} ${String(body.kind)}`));
      return false;
    }
    if (metadata.namespace !== undefined && metadata.namespace !== namespace) {
      send(400, statusBody(400, 'BadRequest', 'the namespace of the provided object does not match the namespace sent on the request'));
      return false;
    }
    const problems = leaseProblems(body);
    if (problems.length > 0) {
      send(422, statusBody(422, 'Invalid', `Lease.coordination.k8s.io ${JSON.stringify(metadata.name)} is invalid: ${problems.join(', ')}`));
      return false;
    }
    return true;
  }

  private store(namespace: string, body: Json & { metadata: Json }, previous?: StoredLease): StoredLease {
    const { kind: _kind, apiVersion: _apiVersion, status: _status, ...rest } = body;
    const lease = {
      ...rest,
      metadata: {
        ...body.metadata,
        namespace,
        uid: previous?.metadata.uid ?? randomUUID(),
        resourceVersion: this.nextResourceVersion(),
        creationTimestamp: previous?.metadata.creationTimestamp ?? new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      },
    } as StoredLease;
    this.stored.set(`${namespace}/${lease.metadata.name}`, lease);
    return lease;
  }

  private create(namespace: string, body: Json, send: Send): void {
    if (!this.acceptable(namespace, body, send)) return;
    const name = body.metadata.name as string;
    if (this.stored.has(`${namespace}/${name}`)) {
      send(409, statusBody(409, 'AlreadyExists', `${QUALIFIED} "${name}" already exists`));
      return;
    }
    if (body.metadata.resourceVersion !== undefined) {
      send(422, statusBody(422, 'Invalid', 'metadata.resourceVersion: Invalid value: must be empty on create'));
      return;
    }
    send(201, JSON.stringify({ kind: 'Lease', apiVersion: 'coordination.k8s.io/v1', ...this.store(namespace, body) }));
  }

  private update(namespace: string, name: string, body: Json, send: Send): void {
    if (!this.acceptable(namespace, body, send)) return;
    if (body.metadata.name !== name) {
      send(400, statusBody(400, 'BadRequest', 'the name of the object does not match the name on the URL'));
      return;
    }
    const previous = this.get(namespace, name);
    if (previous === undefined) {
      this.notFound(name, send);
      return;
    }
    const version = body.metadata.resourceVersion;
    if (version !== undefined && version !== previous.metadata.resourceVersion) {
      send(
        409,
        statusBody(409, 'Conflict', `Operation cannot be fulfilled on ${QUALIFIED} "${name}": the object has been modified; please apply your changes to the latest version and try again`),
      );
      return;
    }
    send(200, JSON.stringify({ kind: 'Lease', apiVersion: 'coordination.k8s.io/v1', ...this.store(namespace, body, previous) }));
  }

  private delete(namespace: string, name: string, options: Json, send: Send): void {
    const previous = this.get(namespace, name);
    if (previous === undefined) {
      this.notFound(name, send);
      return;
    }
    const precondition = isObject(options.preconditions) ? options.preconditions.resourceVersion : undefined;
    if (precondition !== undefined && precondition !== previous.metadata.resourceVersion) {
      send(
        409,
        statusBody(
          409,
          'Conflict',
          `Operation cannot be fulfilled on ${QUALIFIED} "${name}": Precondition failed: ResourceVersion in precondition: ${String(precondition)}, ResourceVersion in object meta: ${previous.metadata.resourceVersion}`,
        ),
      );
      return;
    }
    this.stored.delete(`${namespace}/${name}`);
    send(200, JSON.stringify({ kind: 'Lease', apiVersion: 'coordination.k8s.io/v1', ...previous }));
  }
}
