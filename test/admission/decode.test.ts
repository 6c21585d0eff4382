import { decodeAdmissionReview, type DecodedReview } from '../../src/admission/decode';
import type { EvictionAttempt } from '../../src/domain';
import { deploymentUpdateReview, evictionReview, pdbCreateReview, REVIEW_UID } from './reviews';

function decodedAttempt(review: DecodedReview): EvictionAttempt {
  if (review.outcome !== 'eviction') throw new Error(`expected an eviction, got ${JSON.stringify(review)}`);
  return review.attempt;
}

function rejectionMessage(review: DecodedReview): string {
  if (review.outcome !== 'rejected') throw new Error(`expected a rejection, got ${JSON.stringify(review)}`);
  expect(review.httpStatus).toBe(400);
  return review.message;
}

describe('decodeAdmissionReview: evictions', () => {
  it('decodes the kubectl drain example (v1 review, policy/v1 Eviction) into an EvictionAttempt', () => {
    expect(decodeAdmissionReview(evictionReview())).toEqual({
      outcome: 'eviction',
      version: 'admission.k8s.io/v1',
      attempt: {
        uid: REVIEW_UID,
        namespace: 'shop',
        podName: 'web-7d9c5b7f6-x2x9k',
        evictionVersion: 'policy/v1',
        requester: { username: 'kubernetes-admin', groups: ['kubeadm:cluster-admins', 'system:authenticated'] },
        dryRun: false,
        gracePeriodSeconds: 30,
      },
    });
  });

  it('decodes an admission.k8s.io/v1beta1 review with a policy/v1beta1 Eviction (clusters up to 1.21)', () => {
    const review = evictionReview();
    review.apiVersion = 'admission.k8s.io/v1beta1';
    review.request.kind = { group: 'policy', version: 'v1beta1', kind: 'Eviction' };
    review.request.object.apiVersion = 'policy/v1beta1';

    const decoded = decodeAdmissionReview(review);

    expect(decoded).toMatchObject({ outcome: 'eviction', version: 'admission.k8s.io/v1beta1' });
    expect(decodedAttempt(decoded).evictionVersion).toBe('policy/v1beta1');
  });

  it('accepts a policy/v1beta1 Eviction inside a v1 review', () => {
    const review = evictionReview();
    review.request.object.apiVersion = 'policy/v1beta1';
    expect(decodedAttempt(decodeAdmissionReview(review)).evictionVersion).toBe('policy/v1beta1');
  });

  it.each(['v1', 'v1beta1'] as const)('takes the Eviction version policy/%s from request.kind when the object is absent', (version) => {
    const review = evictionReview();
    review.request.kind = { group: 'policy', version, kind: 'Eviction' };
    review.request.object = null as never;

    const attempt = decodedAttempt(decodeAdmissionReview(review));

    expect(attempt.evictionVersion).toBe(`policy/${version}`);
    expect(attempt.gracePeriodSeconds).toBeUndefined();
  });

  it('keeps deleteOptions.preconditions.uid, the pod the client means', () => {
    const review = evictionReview();
    review.request.object.deleteOptions = { preconditions: { uid: 'a1b2c3d4-0000-4000-8000-000000000009', resourceVersion: '42' } };
    expect(decodedAttempt(decodeAdmissionReview(review)).preconditionUid).toBe('a1b2c3d4-0000-4000-8000-000000000009');
    review.request.object.deleteOptions = { preconditions: {} };
    expect(decodedAttempt(decodeAdmissionReview(review))).not.toHaveProperty('preconditionUid');
  });

  it('takes the pod from request.name/namespace when the Eviction has no namespace (strimzi/drain-cleaner#34)', () => {
    const review = evictionReview();
    review.request.object.metadata = { name: 'web-7d9c5b7f6-x2x9k' };
    expect(decodedAttempt(decodeAdmissionReview(review))).toMatchObject({ namespace: 'shop', podName: 'web-7d9c5b7f6-x2x9k' });
  });

  it('takes the pod from request.name/namespace when object.metadata names another pod', () => {
    const review = evictionReview();
    review.request.object.metadata = { name: 'other-pod', namespace: 'other-namespace' };
    expect(decodedAttempt(decodeAdmissionReview(review))).toMatchObject({ namespace: 'shop', podName: 'web-7d9c5b7f6-x2x9k' });
  });

  it.each([
    { case: 'request.dryRun true (?dryRun=All)', requestDryRun: true, deleteOptionsDryRun: undefined, expected: true },
    { case: 'deleteOptions.dryRun ["All"] only (§2.2)', requestDryRun: false, deleteOptionsDryRun: ['All'], expected: true },
    { case: 'both set (kubectl drain --dry-run=server)', requestDryRun: true, deleteOptionsDryRun: ['All'], expected: true },
    { case: 'neither set', requestDryRun: false, deleteOptionsDryRun: undefined, expected: false },
    { case: 'deleteOptions.dryRun empty', requestDryRun: false, deleteOptionsDryRun: [], expected: false },
  ])('dryRun is $expected when $case', ({ requestDryRun, deleteOptionsDryRun, expected }) => {
    const review = evictionReview();
    review.request.dryRun = requestDryRun;
    if (deleteOptionsDryRun !== undefined) review.request.object.deleteOptions = { dryRun: deleteOptionsDryRun };

    expect(decodedAttempt(decodeAdmissionReview(review)).dryRun).toBe(expected);
  });

  it('keeps username, uid and groups of userInfo but never extra, which can carry tokens', () => {
    const review = evictionReview();
    review.request.userInfo = {
      username: 'system:serviceaccount:ops:drainer',
      uid: 'c0ffee00-1111-4222-8333-444455556666',
      groups: ['system:serviceaccounts'],
      extra: { 'authentication.kubernetes.io/credential-id': ['JTI=secret-token-id'] },
    };

    const decoded = decodeAdmissionReview(review);

    expect(decodedAttempt(decoded).requester).toEqual({
      username: 'system:serviceaccount:ops:drainer',
      uid: 'c0ffee00-1111-4222-8333-444455556666',
      groups: ['system:serviceaccounts'],
    });
    expect(JSON.stringify(decoded)).not.toContain('secret-token-id');
  });
});

describe('decodeAdmissionReview: PodDisruptionBudget changes (the PDB guard)', () => {
  const spec = { minAvailable: 1, selector: { matchLabels: { app: 'web' } } };

  it('decodes a CREATE, taking the namespace from the request since the object has none yet', () => {
    const review = decodeAdmissionReview(pdbCreateReview(spec));
    expect(review).toMatchObject({
      outcome: 'pdb-change',
      version: 'admission.k8s.io/v1',
      operation: 'CREATE',
      namespace: 'shop',
      name: 'web-ha-pdb',
      requester: { username: 'alice', groups: ['system:authenticated'] },
      dryRun: false,
      object: { kind: 'PodDisruptionBudget', spec },
    });
  });

  it('decodes an UPDATE, and names a PDB created with generateName after its prefix', () => {
    const update = pdbCreateReview(spec);
    Object.assign(update.request, { operation: 'UPDATE', dryRun: true });
    expect(decodeAdmissionReview(update)).toMatchObject({ outcome: 'pdb-change', operation: 'UPDATE', dryRun: true });
    const generated = pdbCreateReview(spec);
    Object.assign(generated.request, { name: '' });
    generated.request.object.metadata = { generateName: 'web-' };
    expect(decodeAdmissionReview(generated)).toMatchObject({ outcome: 'pdb-change', name: 'web-*' });
  });

  it('leaves status updates and deletes to the not-an-eviction path', () => {
    const status = pdbCreateReview(spec);
    Object.assign(status.request, { operation: 'UPDATE', subResource: 'status' });
    expect(decodeAdmissionReview(status).outcome).toBe('not-eviction');
    const deletion = pdbCreateReview(spec);
    Object.assign(deletion.request, { operation: 'DELETE' });
    expect(decodeAdmissionReview(deletion).outcome).toBe('not-eviction');
  });

  it.each([
    ['no object', (review: ReturnType<typeof pdbCreateReview>) => Object.assign(review.request, { object: null }), 'request.object: expected a PodDisruptionBudget object'],
    ['another kind', (review: ReturnType<typeof pdbCreateReview>) => Object.assign(review.request.object, { kind: 'Pod' }), 'request.object.kind: expected "PodDisruptionBudget"'],
    ['policy/v1beta1', (review: ReturnType<typeof pdbCreateReview>) => Object.assign(review.request.object, { apiVersion: 'policy/v1beta1' }), 'expected "policy/v1"'],
    ['no namespace', (review: ReturnType<typeof pdbCreateReview>) => Object.assign(review.request, { namespace: '' }), 'request.namespace: required non-empty string'],
  ])('rejects a PDB review with %s', (_name, breakIt, message) => {
    const review = pdbCreateReview(spec);
    breakIt(review);
    expect(rejectionMessage(decodeAdmissionReview(review))).toContain(message);
  });
});

describe('decodeAdmissionReview: well-formed reviews that are not evictions', () => {
  it('describes an UPDATE of a Deployment for the log', () => {
    expect(decodeAdmissionReview(deploymentUpdateReview())).toEqual({
      outcome: 'not-eviction',
      version: 'admission.k8s.io/v1',
      uid: 'b1c2d3e4-0000-4000-8000-000000000001',
      description: 'UPDATE apps/v1 deployments default/web',
    });
  });

  it.each([
    { case: 'a pod CREATE', change: { subResource: undefined }, description: 'CREATE v1 pods shop/web-7d9c5b7f6-x2x9k' },
    { case: 'a pods/eviction UPDATE', change: { operation: 'UPDATE' }, description: 'UPDATE v1 pods/eviction shop/web-7d9c5b7f6-x2x9k' },
    { case: 'a pods/status CREATE', change: { subResource: 'status' }, description: 'CREATE v1 pods/status shop/web-7d9c5b7f6-x2x9k' },
  ])('answers not-eviction for $case', ({ change, description }) => {
    const review = evictionReview();
    Object.assign(review.request, change);
    expect(decodeAdmissionReview(review)).toMatchObject({ outcome: 'not-eviction', uid: REVIEW_UID, description });
  });
});

describe('decodeAdmissionReview: rejections (HTTP 400) name the field and what is accepted', () => {
  const withRequest = (change: Record<string, unknown>) => {
    const review = evictionReview();
    Object.assign(review.request, change);
    return review;
  };
  const withObject = (change: Record<string, unknown>) => {
    const review = evictionReview();
    Object.assign(review.request.object, change);
    return review;
  };

  it.each([
    { case: 'null body', body: null, message: /body: expected a JSON object.*got null/ },
    { case: 'array body', body: [], message: /body: expected a JSON object.*got an array/ },
    { case: 'string body', body: 'x', message: /body: expected a JSON object.*got "x"/ },
    { case: 'number body', body: 42, message: /body: expected a JSON object.*got 42/ },
    { case: 'no body', body: undefined, message: /body: expected a JSON object.*got nothing/ },
    {
      case: 'unknown review apiVersion',
      body: { ...evictionReview(), apiVersion: 'admission.k8s.io/v2' },
      message: /apiVersion: expected "admission\.k8s\.io\/v1" or "admission\.k8s\.io\/v1beta1", got "admission\.k8s\.io\/v2"/,
    },
    {
      case: 'missing review apiVersion',
      body: { ...evictionReview(), apiVersion: undefined },
      message: /apiVersion: expected "admission\.k8s\.io\/v1" or "admission\.k8s\.io\/v1beta1", got nothing/,
    },
    { case: 'wrong kind', body: { ...evictionReview(), kind: 'ConversionReview' }, message: /kind: expected "AdmissionReview", got "ConversionReview"/ },
    { case: 'missing request', body: { ...evictionReview(), request: undefined }, message: /request: required object, got nothing/ },
    { case: 'request not an object', body: { ...evictionReview(), request: 'x' }, message: /request: required object, got "x"/ },
    { case: 'missing uid', body: withRequest({ uid: undefined }), message: /request\.uid: required non-empty string, got nothing/ },
    { case: 'empty uid', body: withRequest({ uid: '' }), message: /request\.uid: required non-empty string, got ""/ },
    { case: 'numeric uid', body: withRequest({ uid: 7 }), message: /request\.uid: required non-empty string, got 7/ },
    {
      case: 'unknown Eviction apiVersion',
      body: withObject({ apiVersion: 'policy/v2' }),
      message: /request\.object\.apiVersion: expected "policy\/v1" or "policy\/v1beta1", got "policy\/v2"/,
    },
    { case: 'object that is not an Eviction', body: withObject({ kind: 'Pod' }), message: /request\.object\.kind: expected "Eviction", got "Pod"/ },
    {
      case: 'unknown request.kind without an object',
      body: withRequest({ object: null, kind: { group: 'policy', version: 'v2', kind: 'Eviction' } }),
      message: /request\.kind: expected Eviction of "policy\/v1" or "policy\/v1beta1" \(request\.object is absent\), got "policy\/v2" "Eviction"/,
    },
    { case: 'empty pod name', body: withRequest({ name: '' }), message: /request\.name: required non-empty string for a pods\/eviction CREATE/ },
    { case: 'missing namespace', body: withRequest({ namespace: undefined }), message: /request\.namespace: required non-empty string/ },
    { case: 'non-boolean request.dryRun', body: withRequest({ dryRun: 'true' }), message: /request\.dryRun: expected boolean, got "true"/ },
    { case: 'userInfo.groups not a list', body: withRequest({ userInfo: { username: 'a', groups: 'x' } }), message: /request\.userInfo\.groups: expected an array of strings/ },
    {
      case: 'deleteOptions.dryRun not a list',
      body: withObject({ deleteOptions: { dryRun: 'All' } }),
      message: /request\.object\.deleteOptions\.dryRun: expected an array of strings such as \["All"\], got "All"/,
    },
    {
      case: 'fractional gracePeriodSeconds',
      body: withObject({ deleteOptions: { gracePeriodSeconds: 1.5 } }),
      message: /request\.object\.deleteOptions\.gracePeriodSeconds: expected an integer, got 1\.5/,
    },
    {
      case: 'deleteOptions.preconditions not an object',
      body: withObject({ deleteOptions: { preconditions: 'uid' } }),
      message: /request\.object\.deleteOptions\.preconditions: expected object, got "uid"/,
    },
    {
      case: 'a preconditions.uid that is not a string',
      body: withObject({ deleteOptions: { preconditions: { uid: 7 } } }),
      message: /request\.object\.deleteOptions\.preconditions\.uid: expected string, got 7/,
    },
  ])('rejects $case', ({ body, message }) => {
    const rejection = rejectionMessage(decodeAdmissionReview(body));
    expect(rejection).toMatch(/^invalid AdmissionReview: /);
    expect(rejection).toMatch(message);
  });

  it('bounds an offending value it quotes back', () => {
    const message = rejectionMessage(decodeAdmissionReview({ ...evictionReview(), kind: 'K'.repeat(10_000) }));
    expect(message.length).toBeLessThan(200);
  });
});
