// Which evictions a policy applies to: the pod it selects (namespaces, namespaceSelector,
// podSelector) and the requester it applies to (subjects, excludeSubjects).
import type { NamespaceFacts, PodFacts, Requester } from '../domain';
import { selectorMatches } from '../pdb/selector';
import type { PolicyMatch, Subject } from './schema';

/** Set by the API server on every namespace since 1.21; known even when the namespace itself is not. */
const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

/** The username the API server gives a service account's tokens. */
export function serviceAccountUsername(namespace: string, name: string): string {
  return `system:serviceaccount:${namespace}:${name}`;
}

export function subjectMatches(subject: Subject, requester: Requester): boolean {
  switch (subject.kind) {
    case 'User':
      return requester.username === subject.name;
    case 'Group':
      return requester.groups.includes(subject.name);
    case 'ServiceAccount':
      return requester.username === serviceAccountUsername(subject.namespace, subject.name);
  }
}

export function namespaceLabels(namespaceName: string, namespace: NamespaceFacts | undefined): Readonly<Record<string, string>> {
  const labels = namespace?.labels ?? {};
  return Object.hasOwn(labels, NAMESPACE_NAME_LABEL) ? labels : { ...labels, [NAMESPACE_NAME_LABEL]: namespaceName };
}

/**
 * The pod is one the policy is about: its namespace matches a glob and both selectors.
 * `podNamespaceLabels` are namespaceLabels() of the pod's namespace, computed once per eviction.
 */
export function selectsPod(match: PolicyMatch, pod: PodFacts, podNamespaceLabels: Readonly<Record<string, string>>): boolean {
  if (match.namespaces !== undefined && !match.namespaces.some((glob) => glob.pattern.test(pod.namespace))) return false;
  if (match.podSelector !== undefined && !selectorMatches(match.podSelector, pod.labels)) return false;
  return match.namespaceSelector === undefined || selectorMatches(match.namespaceSelector, podNamespaceLabels);
}

/** The requester is one the policy is about: listed in subjects (or none are listed) and not excluded. */
export function appliesTo(match: PolicyMatch, requester: Requester): boolean {
  if (match.subjects !== undefined && !match.subjects.some((subject) => subjectMatches(subject, requester))) return false;
  return !(match.excludeSubjects ?? []).some((subject) => subjectMatches(subject, requester));
}
