// core/v1 Events for the fake API server: create (POST), patch (PATCH with a JSON merge patch or a
// strategic merge patch, applied as a deep merge, which is what both do to an Event's scalar
// fields), get and list. Events are not watched. A switch makes every Events call fail with 500,
// another delays each answer, to show that Events stay off the webhook's request path.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { isObject, mergePatch, parsePatch, readBody, statusBody, type Json } from './fake-http';

/** /api/v1/events, /api/v1/namespaces/{ns}/events, /api/v1/namespaces/{ns}/events/{name}. */
export const EVENTS_ROUTE = /^\/api\/v1\/(?:namespaces\/([^/]+)\/)?events(?:\/([^/]+))?$/;

export interface StoredKubeEvent {
  metadata: { name: string; namespace: string; uid: string; resourceVersion: string; creationTimestamp: string };
  involvedObject?: { kind?: string; namespace?: string; name?: string; uid?: string; apiVersion?: string };
  reason?: string;
  message?: string;
  type?: string;
  count?: number;
  firstTimestamp?: string;
  lastTimestamp?: string;
  source?: { component?: string; host?: string };
  reportingComponent?: string;
  reportingInstance?: string;
  [key: string]: unknown;
}

export interface EventWrite {
  method: 'POST' | 'PATCH';
  namespace: string;
  name?: string;
  contentType?: string;
  status: number;
}

type Send = (code: number, body: string) => void;

export class FakeEvents {
  /** While true, every Events request answers 500 InternalError. */
  failing = false;
  /** Delay before each Events answer. */
  delayMs = 0;
  /** Every POST and PATCH, with the status answered, as the answers go out. */
  readonly writes: EventWrite[] = [];

  private readonly stored = new Map<string, StoredKubeEvent>();

  constructor(private readonly nextResourceVersion: () => string) {}

  /** Stored Events, optionally of one namespace, in creation order. */
  list(namespace?: string): StoredKubeEvent[] {
    return [...this.stored.values()].filter((event) => namespace === undefined || event.metadata.namespace === namespace);
  }

  /** Events about one pod. */
  forPod(namespace: string, name: string): StoredKubeEvent[] {
    return this.list(namespace).filter((event) => event.involvedObject?.kind === 'Pod' && event.involvedObject.name === name);
  }

  handle(request: IncomingMessage, match: RegExpExecArray, send: Send): void {
    const [namespace, name] = match.slice(1).map((part) => (part === undefined ? undefined : decodeURIComponent(part)));
    void readBody(request).then((text) => {
      const answer: Send = (code, body) => {
        const reply = () => {
          if (request.method === 'POST' || request.method === 'PATCH') {
            this.writes.push({ method: request.method, namespace: namespace ?? '', name, contentType: request.headers['content-type'], status: code });
          }
          send(code, body);
        };
        if (this.delayMs > 0) setTimeout(reply, this.delayMs);
        else reply();
      };
      if (this.failing) {
        answer(500, statusBody(500, 'InternalError', 'Internal error occurred: the fake Events API is failing'));
        return;
      }
      switch (request.method) {
        case 'GET':
          this.get(namespace, name, answer);
          return;
        case 'POST':
          if (namespace === undefined || name !== undefined) answer(405, statusBody(405, 'MethodNotAllowed', 'POST events to a namespace collection'));
          else this.create(namespace, text, answer);
          return;
        case 'PATCH':
          if (namespace === undefined || name === undefined) answer(405, statusBody(405, 'MethodNotAllowed', 'PATCH a named event'));
          else this.patch(namespace, name, String(request.headers['content-type'] ?? '').split(';')[0].trim(), text, answer);
          return;
        default:
          answer(405, statusBody(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource'));
      }
    });
  }

  private get(namespace: string | undefined, name: string | undefined, send: Send): void {
    if (name === undefined) {
      const items = this.list(namespace).map((event) => ({ kind: 'Event', apiVersion: 'v1', ...event }));
      send(200, JSON.stringify({ kind: 'EventList', apiVersion: 'v1', metadata: { resourceVersion: this.nextResourceVersion() }, items }));
      return;
    }
    const event = namespace === undefined ? undefined : this.stored.get(`${namespace}/${name}`);
    if (event === undefined) send(404, statusBody(404, 'NotFound', `events "${name}" not found`));
    else send(200, JSON.stringify({ kind: 'Event', apiVersion: 'v1', ...event }));
  }

  private create(namespace: string, text: string, send: Send): void {
    let body: Json;
    try {
      body = JSON.parse(text) as Json;
    } catch {
      send(400, statusBody(400, 'BadRequest', 'the body is not JSON'));
      return;
    }
    const metadata = isObject(body.metadata) ? body.metadata : {};
    const name = metadata.name;
    const involved = isObject(body.involvedObject) ? body.involvedObject : {};
    // As the API server's ValidateEvent: names are required and the Event lives in its object's namespace.
    if (body.kind !== 'Event' || typeof name !== 'string' || name === '') {
      send(422, statusBody(422, 'Invalid', 'Event is invalid: metadata.name: Required value'));
      return;
    }
    if ((metadata.namespace ?? namespace) !== namespace || involved.namespace !== namespace) {
      send(422, statusBody(422, 'Invalid', `Event "${name}" is invalid: involvedObject.namespace: Invalid value: does not match event.namespace`));
      return;
    }
    const key = `${namespace}/${name}`;
    if (this.stored.has(key)) {
      send(409, statusBody(409, 'AlreadyExists', `events "${name}" already exists`));
      return;
    }
    const { kind, apiVersion, ...rest } = body;
    const event = {
      ...rest,
      metadata: { ...metadata, name, namespace, uid: randomUUID(), resourceVersion: this.nextResourceVersion(), creationTimestamp: new Date().toISOString() },
    } as StoredKubeEvent;
    this.stored.set(key, event);
    send(201, JSON.stringify({ kind: 'Event', apiVersion: 'v1', ...event }));
  }

  private patch(namespace: string, name: string, contentType: string, text: string, send: Send): void {
    const parsed = parsePatch(contentType, text);
    if ('code' in parsed) {
      send(parsed.code, parsed.body);
      return;
    }
    const key = `${namespace}/${name}`;
    const existing = this.stored.get(key);
    if (existing === undefined) {
      send(404, statusBody(404, 'NotFound', `events "${name}" not found`));
      return;
    }
    const merged = mergePatch(existing as Json, parsed.patch) as StoredKubeEvent;
    merged.metadata = { ...existing.metadata, resourceVersion: this.nextResourceVersion() };
    this.stored.set(key, merged);
    send(200, JSON.stringify({ kind: 'Event', apiVersion: 'v1', ...merged }));
  }
}
