// Annotation protection: `evictionguard.io/protect: "true"` on a pod or its namespace denies the
// pod's eviction, unless an EvictionPolicy that selects the pod exempts the requester.
import { podAnnotation, type NamespaceFacts, type PodFacts } from '../domain';
import type { Violation } from './rules/types';

export const PROTECT_ANNOTATION = 'evictionguard.io/protect';
export const ANNOTATION_PROTECT_CHECK = 'policy/annotation-protect';

const HINT = `remove the ${PROTECT_ANNOTATION} annotation if it may go, or evict as a subject an EvictionPolicy exempts (spec.annotationProtection.exemptSubjects)`;

/** The violation when the pod or its namespace carries the annotation; exemptions are the engine's business. */
export function checkProtectAnnotation(pod: PodFacts, namespace: NamespaceFacts | undefined): Violation | undefined {
  const carrier =
    podAnnotation(pod, PROTECT_ANNOTATION) === 'true'
      ? 'it has'
      : namespace?.annotations[PROTECT_ANNOTATION] === 'true'
        ? `its namespace ${pod.namespace} has`
        : undefined;
  if (carrier === undefined) return undefined;
  return {
    message: `Pod ${pod.namespace}/${pod.name} is protected: ${carrier} the annotation ${PROTECT_ANNOTATION}=true.`,
    summary: `pod ${pod.namespace}/${pod.name} is protected by ${PROTECT_ANNOTATION}`,
    hint: HINT,
    retryable: false,
  };
}
