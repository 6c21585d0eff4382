// The CRD's OpenAPI schema (manifests/) and the zod schema (src/policy/schema.ts) must agree on
// every field and enum, or `kubectl apply` and the server would judge a policy differently.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import {
  DISRUPTION_SCOPES,
  FAILURE_POLICIES,
  POLICY_ACTIONS,
  POLICY_API_VERSION,
  POLICY_KIND,
  POLICY_SPEC_FIELDS,
  RULE_KINDS,
  SUBJECT_KINDS,
} from '../../src/policy/schema';

type Schema = { properties: Record<string, Schema>; items: Schema; enum?: unknown[]; required?: string[] };

const crd = parse(readFileSync(path.join(__dirname, '../../manifests/base/crd/evictionpolicies.yaml'), 'utf8'));
const [version] = crd.spec.versions;
const spec: Schema = version.schema.openAPIV3Schema.properties.spec;
const rule = spec.properties.rules.items;
const subjectLists = ['subjects', 'excludeSubjects'].map((field) => spec.properties.match.properties[field].items);

describe('the EvictionPolicy CRD', () => {
  it('serves the group, version and kind the server watches', () => {
    expect(`${crd.spec.group}/${version.name}`).toBe(POLICY_API_VERSION);
    expect(crd.spec.names.kind).toBe(POLICY_KIND);
    expect(crd.spec.scope).toBe('Cluster');
  });

  it('has the spec fields and rule kinds of the zod schema', () => {
    expect(Object.keys(spec.properties).sort()).toEqual([...POLICY_SPEC_FIELDS].sort());
    expect(Object.keys(rule.properties).sort()).toEqual([...RULE_KINDS].sort());
    expect(Object.keys(spec.properties.match.properties).sort()).toEqual(['excludeSubjects', 'namespaceSelector', 'namespaces', 'podSelector', 'subjects']);
  });

  it('has the same enums', () => {
    expect(spec.properties.action.enum).toEqual([...POLICY_ACTIONS]);
    expect(spec.properties.failurePolicy.enum).toEqual([...FAILURE_POLICIES]);
    expect(rule.properties.maxDisruptions.properties.per.enum).toEqual([...DISRUPTION_SCOPES]);
    for (const subject of [...subjectLists, spec.properties.annotationProtection.properties.exemptSubjects.items]) {
      expect(subject.properties.kind.enum).toEqual([...SUBJECT_KINDS]);
    }
  });

  it('has the fields of each rule kind', () => {
    expect(Object.keys(rule.properties.window.properties).sort()).toEqual(['allow', 'deny', 'timeZone']);
    expect(Object.keys(rule.properties.cel.properties).sort()).toEqual(['expression', 'message', 'messageExpression']);
    expect(rule.properties.cel.required).toEqual(['expression']);
    expect(rule.properties.maxDisruptions.required).toEqual(['per', 'count']);
  });
});
