// A fake kube-apiserver for tests and benchmarks. It speaks the real list/watch protocol for pods,
// policy/v1 PodDisruptionBudgets, apps/v1 ReplicaSets, Deployments and StatefulSets, namespaces and
// the cluster-scoped EvictionPolicy custom resource over HTTPS: paged lists (limit/continue) at a consistent
// resourceVersion, watches that replay history after a resourceVersion and then stream changes as
// chunked JSON lines, BOOKMARK events, 410 Expired after compaction, and Status errors. core/v1
// Events can be created, patched and listed (fake-events.ts), and made to fail. coordination/v1
// Leases can be read, listed, created, updated and deleted with resourceVersion preconditions
// (fake-leases.ts), and made to fail or stall. For the real kubectl: discovery (fake-discovery.ts),
// Nodes and DaemonSets, PATCH (a cordon), field and label selectors on lists and watches
// (fake-selectors.ts), and pods/eviction decided as kube-apiserver does (fake-eviction.ts), which
// calls the validating webhooks of the stored ValidatingWebhookConfigurations (fake-admission.ts).
// TokenReviews and SubjectAccessReviews answer from the tokens and grants a test sets (fake-auth.ts).
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import path from 'node:path';
import { FakeAdmission } from './fake-admission';
import { discoveryDocument } from './fake-discovery';
import { AUTH_ROUTE, FakeAuth } from './fake-auth';
import { EVENTS_ROUTE, FakeEvents } from './fake-events';
import { FakeLeases, LEASES_ROUTE } from './fake-leases';
import { EVICTION_ROUTE, FakeEvictions } from './fake-eviction';
import { mergePatch, parsePatch, readBody, statusBody, type Json } from './fake-http';
import { querySelector } from './fake-selectors';
import { makeTestCertificate, type TestCertificate } from './helpers/tls';

type Resource =
  | 'pods'
  | 'poddisruptionbudgets'
  | 'replicasets'
  | 'deployments'
  | 'statefulsets'
  | 'daemonsets'
  | 'namespaces'
  | 'nodes'
  | 'evictionpolicies'
  | 'validatingwebhookconfigurations';

interface ResourceType {
  resource: Resource;
  kind: string;
  apiVersion: string;
  listKind: string;
  /** Singular name used in NotFound messages (`pods "x" not found`). */
  qualifiedName: string;
  /** Namespaces, Nodes, EvictionPolicies, …: no namespace in the key, the path or the object. */
  clusterScoped?: boolean;
}

const appsType = (kind: string, resource: Resource): ResourceType => ({
  resource,
  kind,
  apiVersion: 'apps/v1',
  listKind: `${kind}List`,
  qualifiedName: `${resource}.apps`,
});

const RESOURCE_TYPES: Record<string, ResourceType> = {
  Pod: { resource: 'pods', kind: 'Pod', apiVersion: 'v1', listKind: 'PodList', qualifiedName: 'pods' },
  PodDisruptionBudget: {
    resource: 'poddisruptionbudgets',
    kind: 'PodDisruptionBudget',
    apiVersion: 'policy/v1',
    listKind: 'PodDisruptionBudgetList',
    qualifiedName: 'poddisruptionbudgets.policy',
  },
  ReplicaSet: appsType('ReplicaSet', 'replicasets'),
  Deployment: appsType('Deployment', 'deployments'),
  StatefulSet: appsType('StatefulSet', 'statefulsets'),
  DaemonSet: appsType('DaemonSet', 'daemonsets'),
  Namespace: { resource: 'namespaces', kind: 'Namespace', apiVersion: 'v1', listKind: 'NamespaceList', qualifiedName: 'namespaces', clusterScoped: true },
  Node: { resource: 'nodes', kind: 'Node', apiVersion: 'v1', listKind: 'NodeList', qualifiedName: 'nodes', clusterScoped: true },
  EvictionPolicy: {
    resource: 'evictionpolicies',
    kind: 'EvictionPolicy',
    apiVersion: 'evictionguard.io/v1alpha1',
    listKind: 'EvictionPolicyList',
    qualifiedName: 'evictionpolicies.evictionguard.io',
    clusterScoped: true,
  },
  ValidatingWebhookConfiguration: {
    resource: 'validatingwebhookconfigurations',
    kind: 'ValidatingWebhookConfiguration',
    apiVersion: 'admissionregistration.k8s.io/v1',
    listKind: 'ValidatingWebhookConfigurationList',
    qualifiedName: 'validatingwebhookconfigurations.admissionregistration.k8s.io',
    clusterScoped: true,
  },
};

const TYPE_OF_RESOURCE = new Map(Object.values(RESOURCE_TYPES).map((type) => [type.resource, type]));

const appsRoute = (resource: string) => new RegExp(`^/apis/apps/v1/(?:namespaces/([^/]+)/)?${resource}(?:/([^/]+))?$`);

const ROUTES: { pattern: RegExp; type: ResourceType }[] = [
  { pattern: /^\/api\/v1\/(?:namespaces\/([^/]+)\/)?pods(?:\/([^/]+))?$/, type: RESOURCE_TYPES.Pod },
  {
    pattern: /^\/apis\/policy\/v1\/(?:namespaces\/([^/]+)\/)?poddisruptionbudgets(?:\/([^/]+))?$/,
    type: RESOURCE_TYPES.PodDisruptionBudget,
  },
  { pattern: appsRoute('replicasets'), type: RESOURCE_TYPES.ReplicaSet },
  { pattern: appsRoute('deployments'), type: RESOURCE_TYPES.Deployment },
  { pattern: appsRoute('statefulsets'), type: RESOURCE_TYPES.StatefulSet },
  { pattern: appsRoute('daemonsets'), type: RESOURCE_TYPES.DaemonSet },
  // Cluster-scoped: the only group is the name.
  { pattern: /^\/api\/v1\/namespaces(?:\/([^/]+))?$/, type: RESOURCE_TYPES.Namespace },
  { pattern: /^\/api\/v1\/nodes(?:\/([^/]+))?$/, type: RESOURCE_TYPES.Node },
  { pattern: /^\/apis\/evictionguard\.io\/v1alpha1\/evictionpolicies(?:\/([^/]+))?$/, type: RESOURCE_TYPES.EvictionPolicy },
  {
    pattern: /^\/apis\/admissionregistration\.k8s\.io\/v1\/validatingwebhookconfigurations(?:\/([^/]+))?$/,
    type: RESOURCE_TYPES.ValidatingWebhookConfiguration,
  },
];

/** A stored object, serialized once without kind/apiVersion as list items are. */
interface StoredObject {
  uid: string;
  generation?: number;
  json: string;
  /** `json` encoded, for lists. */
  bytes: Buffer;
}

const COMMA = Buffer.from(',');

/**
 * A list body assembled from bytes, as the real API server serves what it holds encoded: joining
 * a page of 500 pods as strings and encoding the result for the socket cost the fake more CPU per
 * page than the webhook spends parsing it, on the same two CPUs as the webhook in the bench.
 */
function listBody(head: string, items: readonly StoredObject[]): Buffer {
  const parts: Buffer[] = [Buffer.from(head)];
  for (let index = 0; index < items.length; index++) {
    if (index > 0) parts.push(COMMA);
    parts.push(items[index].bytes);
  }
  parts.push(Buffer.from(']}'));
  return Buffer.concat(parts);
}

interface StoredEvent {
  resourceVersion: number;
  resource: Resource;
  namespace: string;
  line: string;
}

interface Watcher {
  resource: Resource;
  namespace?: string;
  response: ServerResponse;
  bookmarks: boolean;
  /** The watch's field and label selectors; events whose object they do not select are not sent. */
  selects?: (object: Json) => boolean;
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  watch: boolean;
}

export interface KubeObject {
  kind: string;
  apiVersion?: string;
  metadata: { name: string; namespace?: string; [key: string]: unknown };
  [key: string]: unknown;
}

interface ContinueToken {
  resourceVersion: number;
  after: string;
}

/** Adds kind and apiVersion to a stored object, as GET and watch events carry them. */
function withKind(type: ResourceType, json: string): string {
  return `{"kind":"${type.kind}","apiVersion":"${type.apiVersion}",${json.slice(1)}`;
}

function lowerBound(sorted: readonly string[], key: string): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (sorted[mid] < key) low = mid + 1;
    else high = mid;
  }
  return low;
}

/** One certificate per process: making an RSA key takes tens of milliseconds, and tests start many fakes. */
let servingCertificate: TestCertificate | undefined;

export class FakeApiServer {
  /** Every request received, in order. */
  readonly requests: RecordedRequest[] = [];
  /** Delay before each page of a list across all namespaces (a reflector's list), to widen a relist's window in tests. */
  listPageDelayMs = 0;
  /** While false, EvictionPolicy paths answer 404 as they do before the CRD is installed. */
  evictionPolicyCrdInstalled = true;
  /** core/v1 Events (fake-events.ts): created and patched by the webhook, not watched. */
  readonly events = new FakeEvents(() => String(++this.resourceVersionCounter));
  /** coordination.k8s.io/v1 Leases (fake-leases.ts): the webhook's reservation records, not watched. */
  readonly leases = new FakeLeases(() => String(++this.resourceVersionCounter));
  /** Validating webhooks (fake-admission.ts), configured by stored ValidatingWebhookConfigurations. */
  readonly admission = new FakeAdmission(this);
  /** pods/eviction (fake-eviction.ts). */
  readonly evictions = new FakeEvictions(this, this.admission);
  /** TokenReview and SubjectAccessReview (fake-auth.ts). */
  readonly auth = new FakeAuth();

  private resourceVersionCounter = 1;
  /** History at or below this resourceVersion is forgotten: watches from older versions get 410. */
  private compactedRevision = 0;
  private readonly objects = new Map<Resource, Map<string, StoredObject>>([...TYPE_OF_RESOURCE.keys()].map((resource) => [resource, new Map()]));
  private readonly sortedKeys = new Map<Resource, string[]>();
  private history: StoredEvent[] = [];
  private readonly watchers = new Set<Watcher>();
  private readonly sockets = new Set<Socket>();
  private down = false;
  private stalled = false;

  private constructor(
    private readonly server: https.Server,
    readonly url: string,
    /** PEM certificate of the server; self-signed, so it is the CA to trust. */
    readonly ca: string,
    readonly token: string,
  ) {}

  static async start(token = 'fake-token'): Promise<FakeApiServer> {
    servingCertificate ??= makeTestCertificate();
    const { cert, key } = servingCertificate;
    const server = https.createServer({ cert, key });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const fake = new FakeApiServer(server, `https://127.0.0.1:${port}`, cert, token);
    server.on('connection', (socket: Socket) => fake.accept(socket));
    server.on('request', (request: IncomingMessage, response: ServerResponse) => fake.handle(request, response));
    return fake;
  }

  get resourceVersion(): string {
    return String(this.resourceVersionCounter);
  }

  /** Create or replace an object of a kind in RESOURCE_TYPES; returns its new resourceVersion. */
  upsert(object: KubeObject): string {
    const { type, namespace, stored, existed } = this.store(object);
    const line = `{"type":"${existed ? 'MODIFIED' : 'ADDED'}","object":${withKind(type, stored.json)}}`;
    this.publish({ resourceVersion: this.resourceVersionCounter, resource: type.resource, namespace, line });
    return this.resourceVersion;
  }

  /** Delete an object; the DELETED event carries the deletion's resourceVersion, as the real server does. */
  remove(kind: string, namespace: string, name: string): boolean {
    const type = this.typeOf(kind);
    const objects = this.objects.get(type.resource)!;
    const key = `${type.clusterScoped ? '' : namespace}/${name}`;
    const stored = objects.get(key);
    if (stored === undefined) return false;
    objects.delete(key);
    this.sortedKeys.delete(type.resource);
    const object = JSON.parse(stored.json) as KubeObject;
    object.metadata.resourceVersion = String(++this.resourceVersionCounter);
    const line = `{"type":"DELETED","object":${withKind(type, JSON.stringify(object))}}`;
    this.publish({ resourceVersion: this.resourceVersionCounter, resource: type.resource, namespace, line });
    return true;
  }

  /**
   * Load many objects at once without recording watch history (as after an etcd compaction), fast
   * enough for 100k pods. Watches must start from a list taken after the load.
   */
  bulkLoad(objects: Iterable<KubeObject>): void {
    for (const object of objects) this.store(object);
    this.compactedRevision = this.resourceVersionCounter;
    this.history = [];
  }

  /** A stored object with its kind and apiVersion, as a GET returns it. */
  read(kind: string, namespace: string, name: string): KubeObject | undefined {
    const type = this.typeOf(kind);
    const stored = this.objects.get(type.resource)!.get(`${type.clusterScoped ? '' : namespace}/${name}`);
    return stored === undefined ? undefined : (JSON.parse(withKind(type, stored.json)) as KubeObject);
  }

  /** The stored objects of a kind, of one namespace or all, in key order. */
  readAll(kind: string, namespace?: string): KubeObject[] {
    const type = this.typeOf(kind);
    const objects = this.objects.get(type.resource)!;
    const prefix = namespace === undefined || type.clusterScoped ? '' : `${namespace}/`;
    return this.keysOf(type.resource)
      .filter((key) => key.startsWith(prefix))
      .map((key) => JSON.parse(withKind(type, objects.get(key)!.json)) as KubeObject);
  }

  count(kind: string): number {
    return this.objects.get(this.typeOf(kind).resource)!.size;
  }

  /** Watches currently streaming, optionally of one resource ('pods', 'poddisruptionbudgets', …). */
  activeWatches(resource?: Resource): number {
    return [...this.watchers].filter((watcher) => resource === undefined || watcher.resource === resource).length;
  }

  /** Cut every watch connection abruptly: no final chunk, no TLS close_notify. */
  dropWatches(): void {
    for (const watcher of this.watchers) watcher.response.socket?.destroy();
    this.watchers.clear();
  }

  /** Forget all history, so a watch resuming from an older resourceVersion gets 410 Expired. */
  compact(): void {
    this.compactedRevision = this.resourceVersionCounter;
    this.history = [];
  }

  /** Send a BOOKMARK at the current resourceVersion to every watch that asked for bookmarks. */
  sendBookmarks(): void {
    for (const watcher of this.watchers) {
      if (!watcher.bookmarks) continue;
      const type = TYPE_OF_RESOURCE.get(watcher.resource)!;
      const object = { kind: type.kind, apiVersion: type.apiVersion, metadata: { resourceVersion: this.resourceVersion } };
      watcher.response.write(`${JSON.stringify({ type: 'BOOKMARK', object })}\n`);
    }
  }

  /** While down, every connection is reset at once and open connections are cut. */
  setDown(down: boolean): void {
    this.down = down;
    if (down) {
      for (const socket of this.sockets) socket.destroy();
      this.watchers.clear();
    }
  }

  /** While stalled, requests are accepted and never answered, so only client timeouts end them. */
  setStalled(stalled: boolean): void {
    this.stalled = stalled;
  }

  /** Write a kubeconfig that trusts this server's certificate and authenticates with its token. */
  writeKubeconfig(dir: string): string {
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, 'kubeconfig');
    const config = {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'fake', cluster: { server: this.url, 'certificate-authority-data': Buffer.from(this.ca).toString('base64') } }],
      users: [{ name: 'fake-user', user: { token: this.token } }],
      contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'fake-user' } }],
      'current-context': 'fake',
    };
    writeFileSync(file, JSON.stringify(config, null, 2));
    return file;
  }

  async close(): Promise<void> {
    this.evictions.close();
    this.watchers.clear();
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(socket: Socket): void {
    if (this.down) {
      socket.destroy();
      return;
    }
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
  }

  private typeOf(kind: string): ResourceType {
    const type = RESOURCE_TYPES[kind];
    if (type === undefined) throw new Error(`fake API server: unsupported kind "${kind}"`);
    return type;
  }

  private store(object: KubeObject): { type: ResourceType; namespace: string; stored: StoredObject; existed: boolean } {
    const type = this.typeOf(object.kind);
    const objects = this.objects.get(type.resource)!;
    const namespace = type.clusterScoped ? '' : (object.metadata.namespace ?? 'default');
    const key = `${namespace}/${object.metadata.name}`;
    const previous = objects.get(key);
    const uid = (object.metadata.uid as string | undefined) ?? previous?.uid ?? randomUUID();
    const generation =
      type.resource === 'poddisruptionbudgets' ? ((object.metadata.generation as number | undefined) ?? previous?.generation ?? 1) : undefined;
    const metadata = {
      ...object.metadata,
      ...(type.clusterScoped ? {} : { namespace }),
      uid,
      resourceVersion: String(++this.resourceVersionCounter),
      creationTimestamp: object.metadata.creationTimestamp ?? new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      ...(generation === undefined ? {} : { generation }),
    };
    const { kind, apiVersion, ...rest } = object;
    const json = JSON.stringify({ ...rest, metadata });
    const stored: StoredObject = { uid, generation, json, bytes: Buffer.from(json) };
    objects.set(key, stored);
    if (previous === undefined) this.sortedKeys.delete(type.resource);
    return { type, namespace, stored, existed: previous !== undefined };
  }

  private publish(event: StoredEvent): void {
    this.history.push(event);
    for (const watcher of this.watchers) {
      if (this.watches(watcher, event)) watcher.response.write(`${event.line}\n`);
    }
  }

  private watches(watcher: Watcher, event: StoredEvent): boolean {
    if (watcher.resource !== event.resource || (watcher.namespace !== undefined && watcher.namespace !== event.namespace)) return false;
    return watcher.selects === undefined || watcher.selects((JSON.parse(event.line) as { object: Json }).object);
  }

  private keysOf(resource: Resource): string[] {
    let keys = this.sortedKeys.get(resource);
    if (keys === undefined) {
      keys = [...this.objects.get(resource)!.keys()].sort();
      this.sortedKeys.set(resource, keys);
    }
    return keys;
  }

  private handle(request: IncomingMessage, response: ServerResponse): void {
    const url = new URL(request.url ?? '/', this.url);
    const query = Object.fromEntries(url.searchParams);
    const watch = query.watch === 'true' || query.watch === '1';
    this.requests.push({ method: request.method ?? 'GET', path: url.pathname, query, watch });
    if (this.stalled) return;

    const send = (code: number, body: string | Buffer) => {
      response.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
      response.end(body);
    };
    if (request.headers.authorization !== `Bearer ${this.token}`) {
      send(401, statusBody(401, 'Unauthorized', 'Unauthorized'));
      return;
    }
    const eventsMatch = EVENTS_ROUTE.exec(url.pathname);
    if (eventsMatch !== null) {
      this.events.handle(request, eventsMatch, send);
      return;
    }
    const authMatch = AUTH_ROUTE.exec(url.pathname);
    if (authMatch !== null) {
      this.auth.handle(request, authMatch, send);
      return;
    }
    const leasesMatch = LEASES_ROUTE.exec(url.pathname);
    if (leasesMatch !== null) {
      this.leases.handle(request, leasesMatch, url.searchParams, send);
      return;
    }
    const evictionMatch = EVICTION_ROUTE.exec(url.pathname);
    if (evictionMatch !== null && request.method === 'POST') {
      this.evictions.handle(request, response, evictionMatch, url.searchParams.getAll('dryRun'));
      return;
    }
    if (request.method !== 'GET' && request.method !== 'PATCH') {
      send(405, statusBody(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource`));
      return;
    }
    const discovery = request.method === 'GET' ? discoveryDocument(url.pathname, this.servedTypes(), url.host) : undefined;
    if (discovery !== undefined) {
      send(200, JSON.stringify(discovery));
      return;
    }
    for (const { pattern, type } of ROUTES) {
      const match = pattern.exec(url.pathname);
      if (match === null) continue;
      if (type.resource === 'evictionpolicies' && !this.evictionPolicyCrdInstalled) break;
      const decoded = match.slice(1).map((part) => (part === undefined ? undefined : decodeURIComponent(part)));
      const [namespace, name] = type.clusterScoped ? ['', decoded[0]] : decoded;
      if (request.method === 'PATCH') {
        if (name === undefined || namespace === undefined) send(405, statusBody(405, 'MethodNotAllowed', 'PATCH a named object'));
        else this.patch(type, namespace, name, request, url.searchParams.getAll('dryRun').includes('All'), send);
        return;
      }
      if (type.clusterScoped && name === undefined && watch) this.watch(type, undefined, query, response);
      else if (type.clusterScoped && name === undefined) this.list(type, undefined, query, send);
      else if (name !== undefined && namespace !== undefined) this.get(type, namespace, name, send);
      else if (name !== undefined) send(404, statusBody(404, 'NotFound', 'the server could not find the requested resource'));
      else if (watch) this.watch(type, namespace, query, response);
      else this.list(type, namespace, query, send);
      return;
    }
    send(404, statusBody(404, 'NotFound', 'the server could not find the requested resource'));
  }

  /** The resource types discovery lists now: EvictionPolicies only while their CRD is installed. */
  private servedTypes(): ResourceType[] {
    return Object.values(RESOURCE_TYPES).filter((type) => type.resource !== 'evictionpolicies' || this.evictionPolicyCrdInstalled);
  }

  /**
   * A merge or strategic merge patch of a stored object (kubectl cordon: {"spec":{"unschedulable":true}}).
   * A dry run answers with the patched object and stores nothing.
   */
  private patch(type: ResourceType, namespace: string, name: string, request: IncomingMessage, dryRun: boolean, send: (code: number, body: string) => void): void {
    const contentType = String(request.headers['content-type'] ?? '').split(';')[0].trim();
    void readBody(request).then((text) => {
      const parsed = parsePatch(contentType, text);
      if ('code' in parsed) {
        send(parsed.code, parsed.body);
        return;
      }
      const existing = this.read(type.kind, namespace, name);
      if (existing === undefined) {
        send(404, statusBody(404, 'NotFound', `${type.qualifiedName} "${name}" not found`, { name, kind: type.resource }));
        return;
      }
      // metadata.name, namespace and uid are the object's identity: a patch does not move it.
      const patched = mergePatch(existing as unknown as Json, parsed.patch) as unknown as KubeObject;
      patched.metadata = { ...patched.metadata, name, uid: existing.metadata.uid, ...(type.clusterScoped ? {} : { namespace }) };
      if (dryRun) {
        send(200, JSON.stringify(patched));
        return;
      }
      this.upsert(patched);
      send(200, JSON.stringify(this.read(type.kind, namespace, name)));
    });
  }

  private get(type: ResourceType, namespace: string, name: string, send: (code: number, body: string) => void): void {
    const stored = this.objects.get(type.resource)!.get(`${namespace}/${name}`);
    if (stored === undefined) {
      send(404, statusBody(404, 'NotFound', `${type.qualifiedName} "${name}" not found`, { name, kind: type.resource }));
      return;
    }
    send(200, withKind(type, stored.json));
  }

  private list(type: ResourceType, namespace: string | undefined, query: Record<string, string>, send: (code: number, body: string | Buffer) => void): void {
    let listRevision = this.resourceVersionCounter;
    let after: string | undefined;
    if (query.continue) {
      let token: ContinueToken;
      try {
        token = JSON.parse(Buffer.from(query.continue, 'base64url').toString('utf8')) as ContinueToken;
      } catch {
        send(400, statusBody(400, 'BadRequest', 'continue key is not valid'));
        return;
      }
      if (token.resourceVersion < this.compactedRevision) {
        send(
          410,
          statusBody(
            410,
            'Expired',
            'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.',
          ),
        );
        return;
      }
      listRevision = token.resourceVersion;
      after = token.after;
    }

    const selects = querySelector(query);
    if (typeof selects === 'string') {
      send(400, statusBody(400, 'BadRequest', selects));
      return;
    }
    const keys = this.keysOf(type.resource);
    const prefix = namespace === undefined ? '' : `${namespace}/`;
    let index = after === undefined ? lowerBound(keys, prefix) : lowerBound(keys, after + '\u0000');
    const limit = Number(query.limit ?? 0);
    const objects = this.objects.get(type.resource)!;
    const items: StoredObject[] = [];
    while (index < keys.length && keys[index].startsWith(prefix) && (limit <= 0 || items.length < limit)) {
      const stored = objects.get(keys[index])!;
      if (selects === undefined || selects(JSON.parse(stored.json) as Json)) items.push(stored);
      index++;
    }
    const more = index < keys.length && keys[index].startsWith(prefix);
    const continueToken = more
      ? Buffer.from(JSON.stringify({ resourceVersion: listRevision, after: keys[index - 1] } satisfies ContinueToken)).toString('base64url')
      : undefined;
    const metadata = JSON.stringify({ resourceVersion: String(listRevision), ...(continueToken ? { continue: continueToken } : {}) });
    const body = listBody(`{"kind":"${type.listKind}","apiVersion":"${type.apiVersion}","metadata":${metadata},"items":[`, items);
    if (namespace === undefined && this.listPageDelayMs > 0) setTimeout(() => send(200, body), this.listPageDelayMs);
    else send(200, body);
  }

  private watch(type: ResourceType, namespace: string | undefined, query: Record<string, string>, response: ServerResponse): void {
    const selects = querySelector(query);
    if (typeof selects === 'string') {
      const body = statusBody(400, 'BadRequest', selects);
      response.writeHead(400, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
      response.end(body);
      return;
    }
    response.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private' });
    response.flushHeaders();
    const from = query.resourceVersion;
    if (from !== undefined && from !== '' && from !== '0' && Number(from) < this.compactedRevision) {
      const status = JSON.parse(statusBody(410, 'Expired', `too old resource version: ${from} (${this.compactedRevision})`));
      response.end(`${JSON.stringify({ type: 'ERROR', object: status })}\n`);
      return;
    }
    const watcher: Watcher = { resource: type.resource, namespace, response, bookmarks: query.allowWatchBookmarks === 'true', selects };
    if (from === undefined || from === '' || from === '0') {
      // No resourceVersion: the real server starts with a synthetic ADDED for every current object.
      const objects = this.objects.get(type.resource)!;
      for (const key of this.keysOf(type.resource)) {
        if ((namespace === undefined || key.startsWith(`${namespace}/`)) && (selects === undefined || selects(JSON.parse(objects.get(key)!.json) as Json))) {
          response.write(`{"type":"ADDED","object":${withKind(type, objects.get(key)!.json)}}\n`);
        }
      }
    } else {
      const after = Number(from);
      for (const event of this.history) {
        if (event.resourceVersion > after && this.watches(watcher, event)) response.write(`${event.line}\n`);
      }
    }
    this.watchers.add(watcher);
    response.on('close', () => this.watchers.delete(watcher));
  }
}
