// authentication.k8s.io/v1 TokenReview and authorization.k8s.io/v1 SubjectAccessReview for the
// fake API server: tokens the test hands out, and RBAC-like grants of verbs on non-resource URLs
// to users and groups. A switch answers every review 403, as the API server does when the
// webhook's ServiceAccount may not create reviews; another answers 500.
import type { IncomingMessage } from 'node:http';
import { isObject, readBody, statusBody, type Json } from './fake-http';

/** /apis/authentication.k8s.io/v1/tokenreviews and /apis/authorization.k8s.io/v1/subjectaccessreviews. */
export const AUTH_ROUTE = /^\/apis\/(authentication\.k8s\.io\/v1\/tokenreviews|authorization\.k8s\.io\/v1\/subjectaccessreviews)$/;

export interface FakeUser {
  username: string;
  uid?: string;
  groups?: string[];
  extra?: Record<string, string[]>;
}

export interface ReviewRecord {
  kind: 'TokenReview' | 'SubjectAccessReview';
  /** SubjectAccessReview: the user and the non-resource request asked about. */
  user?: string;
  path?: string;
  verb?: string;
}

type Send = (code: number, body: string) => void;

export class FakeAuth {
  /** While true, every review answers 403 Forbidden (the webhook lacks RBAC for reviews). */
  forbidden = false;
  /** While true, every review answers 500. */
  failing = false;
  /** Every review answered, in order (tokens are not recorded). */
  readonly reviews: ReviewRecord[] = [];

  private readonly tokens = new Map<string, FakeUser>();
  /** `user:<name>` or `group:<name>` → "verb path" granted. */
  private readonly grants = new Map<string, Set<string>>();

  /** A token that authenticates as `user` (as `kubectl create token` would make for a ServiceAccount). */
  addToken(token: string, user: FakeUser): void {
    this.tokens.set(token, user);
  }

  /** As a ClusterRoleBinding of a role with `nonResourceURLs: paths, verbs` to a user or group. */
  grant(subject: { user: string } | { group: string }, paths: string[], verbs: string[] = ['get']): void {
    const key = 'user' in subject ? `user:${subject.user}` : `group:${subject.group}`;
    const granted = this.grants.get(key) ?? new Set<string>();
    for (const verb of verbs) for (const path of paths) granted.add(`${verb} ${path}`);
    this.grants.set(key, granted);
  }

  count(kind: ReviewRecord['kind']): number {
    return this.reviews.filter((review) => review.kind === kind).length;
  }

  handle(request: IncomingMessage, match: RegExpExecArray, send: Send): void {
    void readBody(request).then((text) => {
      if (request.method !== 'POST') {
        send(405, statusBody(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource'));
        return;
      }
      const [group, , resource] = match[1].split('/');
      if (this.forbidden) {
        const message = `${resource}.${group} is forbidden: User "system:serviceaccount:eviction-guard:eviction-guard" cannot create resource "${resource}" in API group "${group}" at the cluster scope`;
        send(403, statusBody(403, 'Forbidden', message));
        return;
      }
      if (this.failing) {
        send(500, statusBody(500, 'InternalError', 'Internal error occurred: the fake reviews are failing'));
        return;
      }
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        send(400, statusBody(400, 'BadRequest', 'the body is not JSON'));
        return;
      }
      const spec = isObject(body) && isObject(body.spec) ? body.spec : {};
      if (resource === 'tokenreviews') this.reviewToken(body as Json, spec, send);
      else this.reviewAccess(body as Json, spec, send);
    });
  }

  private reviewToken(body: Json, spec: Json, send: Send): void {
    if (body.kind !== 'TokenReview' || typeof spec.token !== 'string') {
      send(422, statusBody(422, 'Invalid', 'TokenReview is invalid: spec.token: Required value'));
      return;
    }
    this.reviews.push({ kind: 'TokenReview' });
    const user = this.tokens.get(spec.token);
    const status = user === undefined ? { authenticated: false, error: '[invalid bearer token, token lookup failed]' } : { authenticated: true, user: { groups: [], ...user }, audiences: ['https://kubernetes.default.svc'] };
    send(201, JSON.stringify({ kind: 'TokenReview', apiVersion: 'authentication.k8s.io/v1', metadata: { creationTimestamp: null }, spec: {}, status }));
  }

  private reviewAccess(body: Json, spec: Json, send: Send): void {
    const attributes = isObject(spec.nonResourceAttributes) ? spec.nonResourceAttributes : undefined;
    if (body.kind !== 'SubjectAccessReview' || typeof spec.user !== 'string' || attributes === undefined) {
      send(422, statusBody(422, 'Invalid', 'SubjectAccessReview is invalid: spec: Invalid value: at least one of resourceAttributes or nonResourceAttributes must be set'));
      return;
    }
    const path = String(attributes.path);
    const verb = String(attributes.verb);
    this.reviews.push({ kind: 'SubjectAccessReview', user: spec.user, path, verb });
    const groups = Array.isArray(spec.groups) ? spec.groups.map(String) : [];
    const subjects = [`user:${spec.user}`, ...groups.map((group) => `group:${group}`)];
    const allowed = subjects.some((subject) => this.grants.get(subject)?.has(`${verb} ${path}`));
    const status = allowed ? { allowed: true, reason: 'RBAC: allowed by the fake API server' } : { allowed: false };
    send(201, JSON.stringify({ kind: 'SubjectAccessReview', apiVersion: 'authorization.k8s.io/v1', metadata: { creationTimestamp: null }, spec, status }));
  }
}
