// TokenReview and SubjectAccessReview over real HTTPS to the fake API server, as the webhook's
// ServiceAccount sends them.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { resolveKubeConfig } from '../../src/cluster/kubeconfig';
import { ApiWriteError } from '../../src/cluster/write';
import { kubeAccessReviews } from '../../src/security/access-review';
import { FakeApiServer } from '../fake-apiserver';

let fake: FakeApiServer;
let dir: string;
let reviews: ReturnType<typeof kubeAccessReviews>;

beforeEach(async () => {
  fake = await FakeApiServer.start();
  dir = mkdtempSync(path.join(os.tmpdir(), 'access-review-'));
  reviews = kubeAccessReviews(resolveKubeConfig(fake.writeKubeconfig(dir))!);
  fake.auth.addToken('reader-token', { username: 'system:serviceaccount:ops:reader', uid: 'u-7', groups: ['system:serviceaccounts', 'readers'], extra: { 'authentication.kubernetes.io/pod-name': ['debug'] } });
  fake.auth.grant({ group: 'readers' }, ['/audit/recent']);
});
afterEach(async () => {
  reviews.release();
  await fake.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('kubeAccessReviews', () => {
  it('finds the user of a valid token, groups, uid and extra included', async () => {
    expect(await reviews.reviewToken('reader-token')).toEqual({
      username: 'system:serviceaccount:ops:reader',
      uid: 'u-7',
      groups: ['system:serviceaccounts', 'readers'],
      extra: { 'authentication.kubernetes.io/pod-name': ['debug'] },
    });
    expect(fake.requests.at(-1)).toMatchObject({ method: 'POST', path: '/apis/authentication.k8s.io/v1/tokenreviews' });
  });

  it('finds no user for a token the API server does not know', async () => {
    expect(await reviews.reviewToken('made-up')).toBeUndefined();
  });

  it('asks for get on the non-resource URL as the user and their groups', async () => {
    const user = (await reviews.reviewToken('reader-token'))!;
    expect(await reviews.reviewAccess(user, { path: '/audit/recent', verb: 'get' })).toEqual({ allowed: true, reason: 'RBAC: allowed by the fake API server' });
    expect(await reviews.reviewAccess(user, { path: '/readyz/details', verb: 'get' })).toEqual({ allowed: false });
    expect(fake.auth.reviews.at(-1)).toEqual({ kind: 'SubjectAccessReview', user: 'system:serviceaccount:ops:reader', path: '/readyz/details', verb: 'get' });
  });

  it('rejects, naming the request and the status but not the token, when the webhook may not create reviews', async () => {
    fake.auth.forbidden = true;
    const failure = reviews.reviewToken('reader-token');
    await expect(failure).rejects.toThrow(ApiWriteError);
    await expect(failure).rejects.toThrow(/^POST \/apis\/authentication\.k8s\.io\/v1\/tokenreviews: HTTP 403 Forbidden: tokenreviews\.authentication\.k8s\.io is forbidden/);
    await expect(failure).rejects.not.toThrow(/reader-token/);
  });
});
