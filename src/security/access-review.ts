// TokenReview and SubjectAccessReview against the API server: the two questions delegated
// authentication and authorization ask (k8s.io/apiserver's DelegatingAuthenticatorConfig and
// DelegatingAuthorizerConfig, as kube-rbac-proxy and controller-runtime's metrics filter use them).
import type { KubeConfig } from '@kubernetes/client-node';
import { API_TIMEOUT_MS } from '../cluster/api';
import { KeepAliveAgents } from '../cluster/agents';
import { sendJson } from '../cluster/write';

/** A user as TokenReview reports it (authentication.k8s.io/v1 UserInfo). */
export interface ReviewedUser {
  username: string;
  uid?: string;
  groups: string[];
  /** Passed on to SubjectAccessReview (some authorizers read it); never logged. */
  extra?: Record<string, string[]>;
}

/** A non-resource request, as SubjectAccessReview's nonResourceAttributes. */
export interface NonResourceRequest {
  path: string;
  verb: string;
}

export interface AccessAnswer {
  allowed: boolean;
  /** The authorizer's reason, when it gave one (e.g. the RBAC rule that denied nothing). */
  reason?: string;
}

/** The API server's reviews; the real one is kubeAccessReviews(), tests use the fake API server. Both reject when the API server cannot answer. */
export interface AccessReviews {
  /** The user the token belongs to, or undefined when the token is not valid (expired, unknown, wrong audience). */
  reviewToken(token: string): Promise<ReviewedUser | undefined>;
  reviewAccess(user: ReviewedUser, request: NonResourceRequest): Promise<AccessAnswer>;
}

const TOKEN_REVIEWS = '/apis/authentication.k8s.io/v1/tokenreviews';
const SUBJECT_ACCESS_REVIEWS = '/apis/authorization.k8s.io/v1/subjectaccessreviews';

/** A reply that is not the review it should be; the API server answered, but nothing can be concluded. */
export class AccessReviewError extends Error {
  override readonly name = 'AccessReviewError';
}

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
const isStringArray = (value: unknown): value is string[] => Array.isArray(value) && value.every((item) => typeof item === 'string');

/** The status of a TokenReview reply: the user when authenticated, else undefined. */
export function reviewedUser(reply: unknown): ReviewedUser | undefined {
  const status = isObject(reply) && isObject(reply.status) ? reply.status : undefined;
  if (status === undefined) throw new AccessReviewError('the TokenReview reply has no status');
  if (status.authenticated !== true) return undefined;
  const user = isObject(status.user) ? status.user : {};
  if (typeof user.username !== 'string' || user.username === '') throw new AccessReviewError('the TokenReview reply is authenticated but names no user');
  const reviewed: ReviewedUser = { username: user.username, groups: isStringArray(user.groups) ? user.groups : [] };
  if (typeof user.uid === 'string' && user.uid !== '') reviewed.uid = user.uid;
  if (isObject(user.extra)) {
    const extra = Object.fromEntries(Object.entries(user.extra).filter((entry): entry is [string, string[]] => isStringArray(entry[1])));
    if (Object.keys(extra).length > 0) reviewed.extra = extra;
  }
  return reviewed;
}

/** The status of a SubjectAccessReview reply. */
export function accessAnswer(reply: unknown): AccessAnswer {
  const status = isObject(reply) && isObject(reply.status) ? reply.status : undefined;
  if (status === undefined || typeof status.allowed !== 'boolean') throw new AccessReviewError('the SubjectAccessReview reply has no status.allowed');
  // status.denied only short-circuits other authorizers; allowed is the answer.
  return { allowed: status.allowed, ...(typeof status.reason === 'string' && status.reason !== '' ? { reason: status.reason } : {}) };
}

/**
 * The reviews of the kubeconfig's cluster, as the webhook's own ServiceAccount (which needs create
 * on tokenreviews and subjectaccessreviews). Their own connections: a burst of reviews never waits
 * behind Event writes, nor holds the sockets that confirm reads use.
 */
export function kubeAccessReviews(kubeConfig: KubeConfig): AccessReviews & { release(): void } {
  const agents = new KeepAliveAgents(8);
  const send = (path: string, body: unknown) => sendJson(kubeConfig, 'POST', path, body, { agents, timeoutMs: API_TIMEOUT_MS });
  return {
    // No spec.audiences: the token must be meant for the API server itself, as `kubectl create token` makes it.
    reviewToken: async (token) => reviewedUser(await send(TOKEN_REVIEWS, { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token } })),
    reviewAccess: async (user, request) =>
      accessAnswer(
        await send(SUBJECT_ACCESS_REVIEWS, {
          apiVersion: 'authorization.k8s.io/v1',
          kind: 'SubjectAccessReview',
          spec: {
            user: user.username,
            groups: user.groups,
            ...(user.uid === undefined ? {} : { uid: user.uid }),
            ...(user.extra === undefined ? {} : { extra: user.extra }),
            nonResourceAttributes: { path: request.path, verb: request.verb },
          },
        }),
      ),
    release: () => agents.release(kubeConfig),
  };
}
