import type { NamespaceFacts, Requester } from '../../src/domain';
import { appliesTo, namespaceLabels, selectsPod, serviceAccountUsername, subjectMatches } from '../../src/policy/match';
import { podFacts } from '../helpers/facts';
import { policy } from '../helpers/policies';

const requester = (username: string, groups: string[] = ['system:authenticated']): Requester => ({ username, groups });
const autoscaler = requester('system:serviceaccount:kube-system:cluster-autoscaler', [
  'system:serviceaccounts',
  'system:serviceaccounts:kube-system',
  'system:authenticated',
]);
const matchOf = (yaml: string) => policy('p', `rules: [{ protect: {} }]\nmatch: ${yaml}`).match;

describe('subjectMatches()', () => {
  it('matches a User by exact username', () => {
    expect(subjectMatches({ kind: 'User', name: 'alice' }, requester('alice'))).toBe(true);
    expect(subjectMatches({ kind: 'User', name: 'alice' }, requester('alice2'))).toBe(false);
  });

  it('matches a Group against any of the requester groups', () => {
    expect(subjectMatches({ kind: 'Group', name: 'system:serviceaccounts:kube-system' }, autoscaler)).toBe(true);
    expect(subjectMatches({ kind: 'Group', name: 'system:nodes' }, autoscaler)).toBe(false);
  });

  it('matches a ServiceAccount by the username its tokens carry', () => {
    expect(serviceAccountUsername('kube-system', 'cluster-autoscaler')).toBe('system:serviceaccount:kube-system:cluster-autoscaler');
    expect(subjectMatches({ kind: 'ServiceAccount', namespace: 'kube-system', name: 'cluster-autoscaler' }, autoscaler)).toBe(true);
    expect(subjectMatches({ kind: 'ServiceAccount', namespace: 'default', name: 'cluster-autoscaler' }, autoscaler)).toBe(false);
    // A user that happens to be called like the service account's name is not it.
    expect(subjectMatches({ kind: 'ServiceAccount', namespace: 'kube-system', name: 'cluster-autoscaler' }, requester('cluster-autoscaler'))).toBe(false);
  });

  it('lets a User subject name a service account by its full username too', () => {
    expect(subjectMatches({ kind: 'User', name: 'system:serviceaccount:kube-system:cluster-autoscaler' }, autoscaler)).toBe(true);
  });
});

describe('appliesTo()', () => {
  it('applies to everyone without subjects', () => {
    expect(appliesTo(matchOf('{}'), requester('anyone'))).toBe(true);
  });

  it('applies only to the listed subjects', () => {
    const match = matchOf('{ subjects: [{ kind: User, name: alice }, { kind: Group, name: "system:nodes" }] }');
    expect(appliesTo(match, requester('alice'))).toBe(true);
    expect(appliesTo(match, requester('system:node:n1', ['system:nodes']))).toBe(true);
    expect(appliesTo(match, requester('bob'))).toBe(false);
  });

  it('never applies to excluded subjects, even when listed', () => {
    const match = matchOf(
      '{ subjects: [{ kind: Group, name: "system:serviceaccounts" }], excludeSubjects: [{ kind: ServiceAccount, namespace: kube-system, name: cluster-autoscaler }] }',
    );
    expect(appliesTo(match, autoscaler)).toBe(false);
    expect(appliesTo(match, requester('system:serviceaccount:kube-system:descheduler', ['system:serviceaccounts']))).toBe(true);
  });
});

describe('selectsPod()', () => {
  const pod = podFacts('db-0', { namespace: 'prod-eu', labels: { app: 'db', tier: 'data' } });
  const prodNamespace = { name: 'prod-eu', labels: { env: 'prod' }, annotations: {} };
  const labelsOf = (namespace: NamespaceFacts | undefined) => namespaceLabels('prod-eu', namespace);

  it('selects every pod without namespaces or selectors', () => {
    expect(selectsPod(matchOf('{}'), pod, labelsOf(undefined))).toBe(true);
  });

  it.each([
    ['prod-*', true],
    ['prod-??', true],
    ['prod-?', false],
    ['prod', false],
    ['*', true],
    ['*-eu', true],
  ])('matches namespace glob %s: %s', (glob, expected) => {
    expect(selectsPod(matchOf(`{ namespaces: ["${glob}"] }`), pod, labelsOf(undefined))).toBe(expected);
  });

  it('selects by pod labels', () => {
    expect(selectsPod(matchOf('{ podSelector: { matchLabels: { app: db } } }'), pod, labelsOf(undefined))).toBe(true);
    expect(selectsPod(matchOf('{ podSelector: { matchExpressions: [{ key: tier, operator: NotIn, values: [data] }] } }'), pod, labelsOf(undefined))).toBe(false);
  });

  it('selects by namespace labels', () => {
    const match = matchOf('{ namespaceSelector: { matchLabels: { env: prod } } }');
    expect(selectsPod(match, pod, labelsOf(prodNamespace))).toBe(true);
    expect(selectsPod(match, pod, labelsOf({ ...prodNamespace, labels: { env: 'dev' } }))).toBe(false);
    // Unknown namespace: only the name label the API server sets on every namespace is known.
    expect(selectsPod(match, pod, labelsOf(undefined))).toBe(false);
    expect(selectsPod(matchOf('{ namespaceSelector: { matchLabels: { kubernetes.io/metadata.name: prod-eu } } }'), pod, labelsOf(undefined))).toBe(true);
  });

  it('needs the namespace glob and both selectors to hold', () => {
    const match = matchOf('{ namespaces: [prod-*], podSelector: { matchLabels: { app: db } }, namespaceSelector: { matchLabels: { env: prod } } }');
    expect(selectsPod(match, pod, labelsOf(prodNamespace))).toBe(true);
    expect(selectsPod(match, { ...pod, labels: { app: 'web' } }, labelsOf(prodNamespace))).toBe(false);
    expect(selectsPod(match, { ...pod, namespace: 'dev' }, labelsOf(prodNamespace))).toBe(false);
  });

  it('keeps a namespace name label that is already there', () => {
    const labels = { 'kubernetes.io/metadata.name': 'x', env: 'prod' };
    expect(namespaceLabels('x', { name: 'x', labels, annotations: {} })).toBe(labels);
  });
});
