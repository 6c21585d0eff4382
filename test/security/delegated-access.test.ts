import { accessAnswer, AccessReviewError, reviewedUser, type AccessReviews, type ReviewedUser } from '../../src/security/access-review';
import { DelegatedAccess } from '../../src/security/delegated-access';

const ALICE: ReviewedUser = { username: 'alice@corp.example', groups: ['sre', 'system:authenticated'] };
const MALLORY: ReviewedUser = { username: 'system:serviceaccount:apps:web', groups: ['system:serviceaccounts'] };

/** Tokens the fake API server knows, and the paths each user may get. */
function fakeReviews(): AccessReviews & { tokenReviews: jest.Mock; accessReviews: jest.Mock } {
  const users: Record<string, ReviewedUser> = { 'alice-token': ALICE, 'mallory-token': MALLORY, 'alice-token-2': ALICE };
  const allowed: Record<string, string[]> = { [ALICE.username]: ['/audit/recent', '/readyz/details'] };
  const tokenReviews = jest.fn(async (token: string) => users[token]);
  const accessReviews = jest.fn(async (user: ReviewedUser, request: { path: string; verb: string }) => ({
    allowed: request.verb === 'get' && (allowed[user.username] ?? []).includes(request.path),
  }));
  return { reviewToken: tokenReviews, reviewAccess: accessReviews, tokenReviews, accessReviews };
}

let clock: number;
const now = () => clock;
beforeEach(() => {
  clock = 1_000_000;
});

describe('DelegatedAccess', () => {
  it('allows a token whose user may get the path, asking TokenReview then SubjectAccessReview for get on that path', async () => {
    const reviews = fakeReviews();
    const access = new DelegatedAccess({ reviews, now });

    expect(await access.decide('alice-token', '/audit/recent')).toEqual({ outcome: 'allowed', user: 'alice@corp.example' });
    expect(reviews.tokenReviews).toHaveBeenCalledWith('alice-token');
    expect(reviews.accessReviews).toHaveBeenCalledWith(ALICE, { path: '/audit/recent', verb: 'get' });
  });

  it('answers unauthenticated without a token, asking nothing', async () => {
    const reviews = fakeReviews();
    const access = new DelegatedAccess({ reviews, now });
    expect(await access.decide(undefined, '/audit/recent')).toEqual({ outcome: 'unauthenticated', problem: 'no bearer token' });
    expect(await access.decide('', '/audit/recent')).toMatchObject({ outcome: 'unauthenticated' });
    expect(reviews.tokenReviews).not.toHaveBeenCalled();
  });

  it('answers unauthenticated for a token the API server does not accept, without asking for access', async () => {
    const reviews = fakeReviews();
    const access = new DelegatedAccess({ reviews, now });
    expect(await access.decide('made-up', '/audit/recent')).toEqual({ outcome: 'unauthenticated', problem: 'the API server did not accept the token' });
    expect(reviews.accessReviews).not.toHaveBeenCalled();
  });

  it('answers forbidden, naming the user, for a valid token whose user may not get the path', async () => {
    const access = new DelegatedAccess({ reviews: fakeReviews(), now });
    expect(await access.decide('mallory-token', '/audit/recent')).toEqual({ outcome: 'forbidden', user: 'system:serviceaccount:apps:web' });
    expect(await access.decide('alice-token', '/pdb-findings')).toEqual({ outcome: 'forbidden', user: 'alice@corp.example' });
  });

  it('caches every answer for the TTL, per token and path, then asks again', async () => {
    const reviews = fakeReviews();
    const access = new DelegatedAccess({ reviews, ttlMs: 10_000, now });
    for (const token of ['alice-token', 'mallory-token', 'made-up']) await access.decide(token, '/audit/recent');
    expect(reviews.tokenReviews).toHaveBeenCalledTimes(3);

    clock += 9_999;
    expect(await access.decide('alice-token', '/audit/recent')).toMatchObject({ outcome: 'allowed' });
    expect(await access.decide('mallory-token', '/audit/recent')).toMatchObject({ outcome: 'forbidden' });
    expect(await access.decide('made-up', '/audit/recent')).toMatchObject({ outcome: 'unauthenticated' });
    expect(reviews.tokenReviews).toHaveBeenCalledTimes(3);

    await access.decide('alice-token', '/readyz/details');
    expect(reviews.accessReviews).toHaveBeenLastCalledWith(ALICE, { path: '/readyz/details', verb: 'get' });

    clock += 2;
    await access.decide('alice-token', '/audit/recent');
    expect(reviews.tokenReviews).toHaveBeenCalledTimes(5);
  });

  it('keys the cache by a hash of the token: no token is kept', async () => {
    const access = new DelegatedAccess({ reviews: fakeReviews(), now });
    await access.decide('alice-token', '/audit/recent');
    const cache = (access as unknown as { cache: Map<string, unknown> }).cache;
    expect(cache.size).toBe(1);
    expect(JSON.stringify([...cache])).not.toContain('alice-token');
  });

  it('keeps at most maxEntries answers, forgetting the oldest', async () => {
    const reviews = fakeReviews();
    const access = new DelegatedAccess({ reviews, maxEntries: 2, now });
    await access.decide('alice-token', '/audit/recent');
    await access.decide('alice-token-2', '/audit/recent');
    await access.decide('mallory-token', '/audit/recent');
    expect(access.cached).toBe(2);

    await access.decide('mallory-token', '/audit/recent');
    await access.decide('alice-token-2', '/audit/recent');
    expect(reviews.tokenReviews).toHaveBeenCalledTimes(3);
    await access.decide('alice-token', '/audit/recent');
    expect(reviews.tokenReviews).toHaveBeenCalledTimes(4);
  });

  it('answers unavailable when the API server cannot be asked, and does not cache it', async () => {
    const reviews = fakeReviews();
    reviews.tokenReviews.mockRejectedValueOnce(new Error('connect ECONNREFUSED 10.96.0.1:443'));
    const access = new DelegatedAccess({ reviews, now });
    expect(await access.decide('alice-token', '/audit/recent')).toEqual({ outcome: 'unavailable', problem: 'TokenReview failed: connect ECONNREFUSED 10.96.0.1:443' });
    expect(await access.decide('alice-token', '/audit/recent')).toMatchObject({ outcome: 'allowed' });

    reviews.accessReviews.mockRejectedValueOnce(new Error('HTTP 403 Forbidden'));
    expect(await access.decide('mallory-token', '/audit/recent')).toEqual({ outcome: 'unavailable', problem: 'SubjectAccessReview failed: HTTP 403 Forbidden' });
  });

  it('asks once for concurrent requests with the same token and path', async () => {
    const reviews = fakeReviews();
    const access = new DelegatedAccess({ reviews, now });
    const decisions = await Promise.all(Array.from({ length: 5 }, () => access.decide('alice-token', '/audit/recent')));
    expect(decisions.every((decision) => decision.outcome === 'allowed')).toBe(true);
    expect(reviews.tokenReviews).toHaveBeenCalledTimes(1);
  });

  it('answers busy, asking nothing, while maxInFlight reviews wait on the API server', async () => {
    const reviews = fakeReviews();
    let answer: (user: ReviewedUser) => void = () => undefined;
    reviews.tokenReviews.mockImplementationOnce(() => new Promise<ReviewedUser>((resolve) => (answer = resolve)));
    const access = new DelegatedAccess({ reviews, maxInFlight: 1, now });
    const waiting = access.decide('alice-token', '/audit/recent');

    expect(await access.decide('mallory-token', '/audit/recent')).toMatchObject({ outcome: 'busy' });
    expect(reviews.tokenReviews).toHaveBeenCalledTimes(1);
    answer(ALICE);
    expect(await waiting).toMatchObject({ outcome: 'allowed' });
    expect(await access.decide('mallory-token', '/audit/recent')).toMatchObject({ outcome: 'forbidden' });
  });
});

describe('review replies', () => {
  it('reads the user of an authenticated TokenReview, extra included', () => {
    expect(
      reviewedUser({
        status: {
          authenticated: true,
          user: { username: 'system:serviceaccount:ops:reader', uid: 'u-1', groups: ['system:serviceaccounts'], extra: { 'authentication.kubernetes.io/pod-name': ['p'] } },
        },
      }),
    ).toEqual({ username: 'system:serviceaccount:ops:reader', uid: 'u-1', groups: ['system:serviceaccounts'], extra: { 'authentication.kubernetes.io/pod-name': ['p'] } });
  });

  it('reads a TokenReview that did not authenticate as no user', () => {
    expect(reviewedUser({ status: { authenticated: false, error: 'token expired' } })).toBeUndefined();
    expect(reviewedUser({ status: {} })).toBeUndefined();
  });

  it.each([{}, { status: 'x' }, { status: { authenticated: true, user: {} } }, null])('refuses a TokenReview reply it cannot read: %j', (reply) => {
    expect(() => reviewedUser(reply)).toThrow(AccessReviewError);
  });

  it('reads a SubjectAccessReview answer and its reason', () => {
    expect(accessAnswer({ status: { allowed: true, reason: 'RBAC: allowed by ClusterRoleBinding "readers"' } })).toEqual({
      allowed: true,
      reason: 'RBAC: allowed by ClusterRoleBinding "readers"',
    });
    expect(accessAnswer({ status: { allowed: false, denied: false } })).toEqual({ allowed: false });
    expect(() => accessAnswer({ status: {} })).toThrow(AccessReviewError);
  });
});
