import type { StatusCause, Verdict } from '../domain';
import type { AdmissionReviewVersion } from './decode';

/** A metav1.Status with status Failure, as the API server reads response.status of a denial. */
export interface FailureStatus {
  status: 'Failure';
  code: number;
  reason?: string;
  message: string;
  details?: { retryAfterSeconds?: number; causes?: StatusCause[] };
}

export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  status?: FailureStatus;
  warnings?: string[];
  auditAnnotations?: Record<string, string>;
}

/** The AdmissionReview answered to the API server; a validating webhook never sets patch/patchType. */
export interface AdmissionReviewResponse {
  apiVersion: AdmissionReviewVersion;
  kind: 'AdmissionReview';
  response: AdmissionResponse;
}

/**
 * Encodes a verdict in the request's own AdmissionReview version with its uid: for v1 the API
 * server rejects any other version or uid (docs/eviction-semantics.md §6.3).
 */
export function encodeAdmissionResponse(version: AdmissionReviewVersion, uid: string, verdict: Verdict): AdmissionReviewResponse {
  const response: AdmissionResponse = { uid, allowed: verdict.allowed };
  // Without a status the API server answers 403 "denied the request without explanation" (§7).
  if (!verdict.allowed && verdict.status) response.status = failureStatus(verdict.status);
  if (verdict.warnings.length > 0) response.warnings = [...verdict.warnings];
  if (Object.keys(verdict.auditAnnotations).length > 0) response.auditAnnotations = { ...verdict.auditAnnotations };
  return { apiVersion: version, kind: 'AdmissionReview', response };
}

/** Allows the request, e.g. one that is not an eviction, or one that could not be evaluated. */
export function allowResponse(version: AdmissionReviewVersion, uid: string, warning?: string): AdmissionReviewResponse {
  const response: AdmissionResponse = { uid, allowed: true };
  if (warning !== undefined) response.warnings = [warning];
  return { apiVersion: version, kind: 'AdmissionReview', response };
}

function failureStatus(status: NonNullable<Verdict['status']>): FailureStatus {
  const failure: FailureStatus = { status: 'Failure', code: status.code, message: status.message };
  // The overlapping-PDB 500 has no reason upstream; sending "" would still be a reason field.
  if (status.reason) failure.reason = status.reason;
  // Webhook details replace the API server's default {kind: pods, name}, so send them only when they say something.
  const details = status.details;
  if (details && (details.retryAfterSeconds !== undefined || (details.causes?.length ?? 0) > 0)) {
    failure.details = {};
    if (details.retryAfterSeconds !== undefined) failure.details.retryAfterSeconds = details.retryAfterSeconds;
    if (details.causes && details.causes.length > 0) failure.details.causes = details.causes.map((cause) => ({ ...cause }));
  }
  return failure;
}
