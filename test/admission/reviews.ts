/** AdmissionReview bodies as the API server sends them (docs/eviction-semantics.md §6.2). */

type JsonObject = Record<string, unknown>;

export const REVIEW_UID = '3f0f2a6c-8d7e-4d1e-9a55-6b1f5c2e9b10';

/** The §6.2 example: kubectl drain 1.22+ evicting shop/web-7d9c5b7f6-x2x9k with --grace-period=30. */
export function evictionReview(): JsonObject & { request: JsonObject & { object: JsonObject } } {
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: REVIEW_UID,
      kind: { group: 'policy', version: 'v1', kind: 'Eviction' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      subResource: 'eviction',
      requestKind: { group: 'policy', version: 'v1', kind: 'Eviction' },
      requestResource: { group: '', version: 'v1', resource: 'pods' },
      requestSubResource: 'eviction',
      name: 'web-7d9c5b7f6-x2x9k',
      namespace: 'shop',
      operation: 'CREATE',
      userInfo: {
        username: 'kubernetes-admin',
        groups: ['kubeadm:cluster-admins', 'system:authenticated'],
      },
      object: {
        apiVersion: 'policy/v1',
        kind: 'Eviction',
        metadata: { name: 'web-7d9c5b7f6-x2x9k', namespace: 'shop' },
        deleteOptions: { gracePeriodSeconds: 30 },
      },
      oldObject: null,
      dryRun: false,
      options: { apiVersion: 'meta.k8s.io/v1', kind: 'CreateOptions' },
    },
  };
}

/** A review that reached the webhook through a too-broad rule: an UPDATE of a Deployment. */
export function deploymentUpdateReview(): JsonObject & { request: JsonObject } {
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: 'b1c2d3e4-0000-4000-8000-000000000001',
      kind: { group: 'apps', version: 'v1', kind: 'Deployment' },
      resource: { group: 'apps', version: 'v1', resource: 'deployments' },
      name: 'web',
      namespace: 'default',
      operation: 'UPDATE',
      userInfo: { username: 'alice', groups: ['system:authenticated'] },
      object: { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'default' } },
      oldObject: { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'default' } },
      dryRun: false,
    },
  };
}

/** A CREATE of a policy/v1 PodDisruptionBudget, as `kubectl apply` sends it (no namespace in the object yet). */
export function pdbCreateReview(spec: JsonObject, name = 'web-ha-pdb', namespace = 'shop'): JsonObject & { request: JsonObject & { object: JsonObject } } {
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: 'c0ffee00-0000-4000-8000-000000000002',
      kind: { group: 'policy', version: 'v1', kind: 'PodDisruptionBudget' },
      resource: { group: 'policy', version: 'v1', resource: 'poddisruptionbudgets' },
      requestKind: { group: 'policy', version: 'v1', kind: 'PodDisruptionBudget' },
      requestResource: { group: 'policy', version: 'v1', resource: 'poddisruptionbudgets' },
      name,
      namespace,
      operation: 'CREATE',
      userInfo: { username: 'alice', groups: ['system:authenticated'] },
      object: { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name }, spec },
      oldObject: null,
      dryRun: false,
    },
  };
}
