import type { PodFacts } from '../../src/domain';
import { policyFindings } from '../../src/policy/engine';
import { PolicyIndex } from '../../src/policy/policy-index';
import { attemptFor, factsFor, pdbFacts, podFacts } from '../helpers/facts';
import { policy } from '../helpers/policies';

const names = (index: PolicyIndex, pod: PodFacts) => index.candidates(pod).map((candidate) => candidate.name);

const everywhere = policy('a-everywhere', 'rules: [{ minReplicas: 2 }]');
const kubeOnly = policy('b-kube', 'match: { namespaces: [kube-*] }\nrules: [{ protect: {} }]');
const shopAndKube = policy('c-shop', 'match: { namespaces: [shop, kube-system] }\nrules: [{ requirePDB: true }]');
const dbPods = policy('d-db', 'match: { podSelector: { matchLabels: { app: db, tier: data } } }\nrules: [{ protect: {} }]');
const webPods = policy('e-web', 'match: { namespaces: ["sho?"], podSelector: { matchLabels: { app: web } } }\nrules: [{ protect: {} }]');
const notCache = policy('f-expressions', 'match: { podSelector: { matchExpressions: [{ key: app, operator: NotIn, values: [cache] }] } }\nrules: [{ protect: {} }]');
const all = [everywhere, kubeOnly, shopAndKube, dbPods, webPods, notCache];

describe('PolicyIndex', () => {
  it('leaves out the policies whose namespace globs reject the pod namespace', () => {
    const index = new PolicyIndex(all);
    expect(names(index, podFacts('x', { namespace: 'billing', labels: {} }))).toEqual(['a-everywhere', 'f-expressions']);
    expect(names(index, podFacts('x', { namespace: 'kube-system', labels: {} }))).toEqual(['a-everywhere', 'b-kube', 'c-shop', 'f-expressions']);
  });

  it('leaves out the policies whose matchLabels the pod lacks, and keeps the policies in name order', () => {
    const index = new PolicyIndex(all);
    expect(names(index, podFacts('web-1', { labels: { app: 'web' } }))).toEqual(['a-everywhere', 'c-shop', 'e-web', 'f-expressions']);
    expect(names(index, podFacts('db-0', { labels: { app: 'db', tier: 'data' } }))).toEqual(['a-everywhere', 'c-shop', 'd-db', 'f-expressions']);
    // Same labels, other namespace: the glob sho? rejects it.
    expect(names(index, podFacts('web-1', { namespace: 'kube-system', labels: { app: 'web' } }))).toEqual(['a-everywhere', 'b-kube', 'c-shop', 'f-expressions']);
  });

  it('narrows only: a candidate still has to be selected (all matchLabels, expressions)', () => {
    const index = new PolicyIndex(all);
    // d-db's first label matches, its second does not: the index offers it, selectsPod() rejects it.
    const halfDb = podFacts('db-0', { labels: { app: 'db', tier: 'cache' } });
    expect(names(index, halfDb)).toContain('d-db');
    const facts = factsFor(halfDb, [pdbFacts('db-pdb', { selector: { matchLabels: { app: 'db' } } })]);
    const findings = policyFindings(index.candidates(halfDb), attemptFor('db-0'), facts, { now: new Date(), mode: 'enforce' });
    expect(findings.map((finding) => finding.check)).toEqual(['policy/a-everywhere/minReplicas', 'policy/f-expressions/protect']);
  });

  it('has no candidates without policies', () => {
    expect(new PolicyIndex([]).candidates(podFacts('web-1'))).toEqual([]);
  });
});
