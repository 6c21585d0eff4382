import { allowResponse, encodeAdmissionResponse } from '../../src/admission/encode';
import type { Verdict } from '../../src/domain';
import { REVIEW_UID } from './reviews';

function verdict(change: Partial<Verdict>): Verdict {
  return { allowed: true, warnings: [], auditAnnotations: {}, findings: [], pdbs: [], ...change };
}

const OVERLAP_MESSAGE = 'This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.';

describe('encodeAdmissionResponse', () => {
  it('encodes a budget denial exactly as the example deny response of docs/eviction-semantics.md §6.4', () => {
    const denial = verdict({
      allowed: false,
      status: {
        code: 429,
        reason: 'TooManyRequests',
        message:
          "Cannot evict pod as it would violate the pod's disruption budget. PDB shop/web-pdb needs 3 healthy pods and has 3 currently (minAvailable=3 of 3 replicas)",
        details: {
          retryAfterSeconds: 10,
          causes: [{ type: 'DisruptionBudget', message: 'The disruption budget web-pdb needs 3 healthy pods and has 3 currently' }],
        },
      },
      warnings: ['PDB shop/web-pdb allows 0 disruptions: minAvailable equals replicas; drains of this node cannot finish'],
      auditAnnotations: { decision: 'deny', pdb: 'shop/web-pdb', rule: 'mirror-apiserver-429' },
      findings: [{ check: 'pdb/budget', action: 'deny', code: 429, message: 'internal finding, not on the wire' }],
      pdbs: ['shop/web-pdb'],
    });

    expect(encodeAdmissionResponse('admission.k8s.io/v1', REVIEW_UID, denial)).toStrictEqual({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      response: {
        uid: '3f0f2a6c-8d7e-4d1e-9a55-6b1f5c2e9b10',
        allowed: false,
        status: {
          status: 'Failure',
          code: 429,
          reason: 'TooManyRequests',
          message:
            "Cannot evict pod as it would violate the pod's disruption budget. PDB shop/web-pdb needs 3 healthy pods and has 3 currently (minAvailable=3 of 3 replicas)",
          details: {
            retryAfterSeconds: 10,
            causes: [{ type: 'DisruptionBudget', message: 'The disruption budget web-pdb needs 3 healthy pods and has 3 currently' }],
          },
        },
        warnings: ['PDB shop/web-pdb allows 0 disruptions: minAvailable equals replicas; drains of this node cannot finish'],
        auditAnnotations: { decision: 'deny', pdb: 'shop/web-pdb', rule: 'mirror-apiserver-429' },
      },
    });
  });

  it.each([
    { case: 'reason empty', reason: '' },
    { case: 'reason absent', reason: undefined },
  ])('omits status.reason for the overlapping-PDB 500 ($case), as the API server does', ({ reason }) => {
    const review = encodeAdmissionResponse(
      'admission.k8s.io/v1',
      REVIEW_UID,
      verdict({ allowed: false, status: { code: 500, reason, message: OVERLAP_MESSAGE } }),
    );

    expect(review.response.status).toStrictEqual({ status: 'Failure', code: 500, message: OVERLAP_MESSAGE });
  });

  it('omits details that say nothing, so the API server keeps its default details', () => {
    const review = encodeAdmissionResponse(
      'admission.k8s.io/v1',
      REVIEW_UID,
      verdict({ allowed: false, status: { code: 403, reason: 'Forbidden', message: 'protected', details: { causes: [] } } }),
    );
    expect(review.response.status).not.toHaveProperty('details');
  });

  it('echoes the v1beta1 version and the uid of the request', () => {
    const review = encodeAdmissionResponse('admission.k8s.io/v1beta1', 'uid-from-request', verdict({}));
    expect(review).toMatchObject({ apiVersion: 'admission.k8s.io/v1beta1', kind: 'AdmissionReview', response: { uid: 'uid-from-request' } });
  });

  it('answers an allowed verdict with no status and no empty warnings or annotations', () => {
    expect(encodeAdmissionResponse('admission.k8s.io/v1', REVIEW_UID, verdict({ allowed: true }))).toStrictEqual({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      response: { uid: REVIEW_UID, allowed: true },
    });
  });

  it('keeps warnings and audit annotations on an allowed verdict, and never a patch', () => {
    const review = encodeAdmissionResponse(
      'admission.k8s.io/v1',
      REVIEW_UID,
      verdict({ allowed: true, warnings: ['pod shop/web is the last Ready replica'], auditAnnotations: { decision: 'warn' } }),
    );

    expect(review.response).toStrictEqual({
      uid: REVIEW_UID,
      allowed: true,
      warnings: ['pod shop/web is the last Ready replica'],
      auditAnnotations: { decision: 'warn' },
    });
  });
});

describe('allowResponse', () => {
  it('allows with only the uid when no warning is given', () => {
    expect(allowResponse('admission.k8s.io/v1beta1', 'u-1')).toStrictEqual({
      apiVersion: 'admission.k8s.io/v1beta1',
      kind: 'AdmissionReview',
      response: { uid: 'u-1', allowed: true },
    });
  });

  it('carries one warning when given', () => {
    expect(allowResponse('admission.k8s.io/v1', 'u-2', 'could not evaluate').response).toStrictEqual({
      uid: 'u-2',
      allowed: true,
      warnings: ['could not evaluate'],
    });
  });
});
