import { parsePolicy } from '../../src/policy/schema';
import { policy, policyError } from '../helpers/policies';

describe('EvictionPolicy schema', () => {
  it('reads a full policy with defaults filled in', () => {
    const parsed = policy(
      'prod-hours',
      `
      match:
        namespaces: [prod-*, payments]
        namespaceSelector: { matchLabels: { env: prod } }
        podSelector: { matchExpressions: [{ key: tier, operator: In, values: [db] }] }
        subjects: [{ kind: Group, name: "system:nodes" }]
        excludeSubjects: [{ kind: ServiceAccount, namespace: kube-system, name: cluster-autoscaler }]
      rules:
        - window: { deny: ["Mon-Fri 09:00-17:00"], timeZone: Europe/Berlin }
        - maxDisruptions: { per: owner, count: "10%" }
        - minReplicas: 2
        - requirePDB: true
        - protect: {}
        - cel: { expression: "owner.replicas - 1 >= 2", message: too few left }
      message: "Ask #platform first."
      `,
    );
    expect(parsed).toMatchObject({
      name: 'prod-hours',
      origin: 'test',
      action: 'Deny',
      failurePolicy: 'Fail',
      message: 'Ask #platform first.',
      exemptSubjects: [],
    });
    expect(parsed.match.namespaces?.map((glob) => glob.text)).toEqual(['prod-*', 'payments']);
    expect(parsed.match.excludeSubjects).toEqual([{ kind: 'ServiceAccount', namespace: 'kube-system', name: 'cluster-autoscaler' }]);
    expect(parsed.rules.map((rule) => rule.kind)).toEqual(['window', 'maxDisruptions', 'minReplicas', 'requirePDB', 'protect', 'cel']);
    expect(parsed.rules[1]).toEqual({ kind: 'maxDisruptions', per: 'owner', limit: { percent: 10 }, count: '10%' });
    expect(parsed.rules[2]).toEqual({ kind: 'minReplicas', replicas: 2 });
  });

  it('accepts a policy that only exempts subjects from annotation protection', () => {
    const parsed = policy('dba', `annotationProtection: { exemptSubjects: [{ kind: User, name: alice }] }`);
    expect(parsed.exemptSubjects).toEqual([{ kind: 'User', name: 'alice' }]);
    expect(parsed.rules).toEqual([]);
  });

  it.each([
    ['action: Block\nrules: [{ protect: {} }]', 'spec.action: must be Deny, Warn or Audit'],
    ['rules: [{ protect: {} }]\nfailurePolicy: Maybe', 'spec.failurePolicy: must be Fail or Ignore'],
    ['rules: []', 'spec.rules: a policy needs at least one rule (or annotationProtection.exemptSubjects)'],
    ['rules: [{ windows: {} }]', 'spec.rules[0]: Unrecognized key: "windows"'],
    ['rules: [{}]', 'spec.rules[0]: a rule needs one of protect, window, maxDisruptions, minReplicas, requirePDB, cel'],
    ['rules: [{ protect: {}, minReplicas: 2 }]', 'spec.rules[0]: a rule holds one kind, found protect and minReplicas'],
    ['rules: [{ protect: {} }, { protect: {} }]', 'spec.rules[1]: protect is already rules[0]'],
    ['rules: [{ window: { allow: ["Mon-Fri 09:00-17:00"], timeZone: Europe/Berln } }]', 'spec.rules[0].window.timeZone: "Europe/Berln" is not an IANA time zone'],
    ['rules: [{ window: { allow: ["Mon-Fri 9-17"], timeZone: UTC } }]', 'spec.rules[0].window.allow[0]: "Mon-Fri 9-17" is not a time range'],
    ['rules: [{ window: { timeZone: UTC } }]', 'spec.rules[0].window: give allow or deny time ranges (or both)'],
    ['rules: [{ window: { allow: ["Mon 09:00-10:00"] } }]', 'spec.rules[0].window.timeZone: give an IANA time zone'],
    ['rules: [{ maxDisruptions: { per: cluster, count: 1 } }]', 'spec.rules[0].maxDisruptions.per: must be owner, namespace or node'],
    ['rules: [{ maxDisruptions: { per: owner, count: 0 } }]', 'spec.rules[0].maxDisruptions.count: must be a whole number of pods (at least 1) or a percentage from 1% to 100%'],
    ['rules: [{ maxDisruptions: { per: owner, count: "150%" } }]', 'spec.rules[0].maxDisruptions.count: must be a whole number'],
    ['rules: [{ minReplicas: 1.5 }]', 'spec.rules[0].minReplicas: must be a whole number of replicas, at least 1'],
    ['rules: [{ minReplicas: 0 }]', 'spec.rules[0].minReplicas: must be a whole number of replicas, at least 1'],
    ['rules: [{ requirePDB: false }]', 'spec.rules[0].requirePDB: takes true (remove the rule to turn it off)'],
    ['rules: [{ protect: {} }]\nmatch: { namespaces: ["Prod_*"] }', 'spec.match.namespaces[0]: "Prod_*" is not a namespace name or glob'],
    ['rules: [{ protect: {} }]\nmatch: { subjects: [{ kind: Robot, name: r2 }] }', 'spec.match.subjects[0].kind: must be User, Group or ServiceAccount'],
    ['rules: [{ protect: {} }]\nmatch: { subjects: [{ kind: ServiceAccount, name: ca }] }', 'spec.match.subjects[0].namespace: a ServiceAccount subject needs its namespace'],
    ['rules: [{ protect: {} }]\nmatch: { subjects: [{ kind: User, name: bob, namespace: x }] }', 'spec.match.subjects[0].namespace: only ServiceAccount subjects have a namespace'],
    ['rules: [{ protect: {} }]\nmatch: { podSelector: { matchExpressions: [{ key: app, operator: In }] } }', 'spec.match.podSelector: operator In on "app" needs at least one value'],
    ['rules: [{ protect: {} }]\nmatch: { podSelector: { matchExpressions: [{ key: app, operator: Like }] } }', 'spec.match.podSelector.matchExpressions[0].operator: must be In, NotIn, Exists or DoesNotExist'],
    ['rules: [{ protect: {} }]\nextra: 1', 'spec: Unrecognized key: "extra"'],
  ])('rejects %j naming the field and the problem', (spec, message) => {
    expect(policyError(spec, 'bad-one')).toContain(`policy "bad-one" (test): ${message}`);
  });

  it('rejects a CEL compile error with its position', () => {
    expect(policyError('rules: [{ cel: { expression: "owner.replicas -" } }]')).toBe(
      'policy "p" (test): spec.rules[0].cel.expression: CEL: line 1, column 16: found - but expecting end of input',
    );
  });

  it('rejects unknown CEL variables and functions with their position', () => {
    expect(policyError('rules: [{ cel: { expression: "pod.metadata.name != \\"\\" &&\\n  pods.size() > 1" } }]')).toContain(
      'spec.rules[0].cel.expression: CEL: line 2, column 3: unknown variable "pods" (known: object, request, pod, namespaceObject, node, pdbs, owner, now)',
    );
    expect(policyError('rules: [{ cel: { expression: "lookup(pod.metadata.name)" } }]')).toContain('CEL: line 1, column 1: unknown function "lookup"');
    expect(policyError('rules: [{ cel: { expression: "x", messageExpression: "y +" } }]')).toMatch(
      /cel\.expression: CEL: line 1, column 1: unknown variable "x".*; spec\.rules\[0\]\.cel\.messageExpression: CEL: line 1, column 3/,
    );
  });

  it('rejects a CEL field the variable does not declare, in the expression or the messageExpression', () => {
    expect(policyError('rules: [{ cel: { expression: "pod.metadata.labels.app == \\"db\\"", messageExpression: "pod.metadta.name" } }]')).toBe(
      'policy "p" (test): spec.rules[0].cel.messageExpression: CEL: line 1, column 4: pod has no field "metadta" (fields: metadata, spec, status)',
    );
  });

  it('accepts comprehension variables and type names in CEL', () => {
    expect(policyError('rules: [{ cel: { expression: "pdbs.all(p, p.status.disruptionsAllowed > 0) && type(owner.replicas) == int" } }]')).toBeUndefined();
  });

  it('names the document when the name itself is missing or wrong', () => {
    const raw = { apiVersion: 'evictionguard.io/v1alpha1', kind: 'EvictionPolicy', metadata: {}, spec: { rules: [{ protect: {} }] } };
    expect(parsePolicy(raw, 'file a.yaml, document 2')).toEqual({
      error: { name: undefined, origin: 'file a.yaml, document 2', message: 'policy <unnamed> (file a.yaml, document 2): metadata.name: a policy needs a name' },
    });
    const badName = parsePolicy({ ...raw, metadata: { name: 'Prod_Hours' } }, 'cluster');
    expect('error' in badName && badName.error.message).toBe('policy "Prod_Hours" (cluster): metadata.name: must be a DNS subdomain name: lower-case letters, digits, - and .');
  });

  it('rejects other kinds and versions', () => {
    const message = (raw: unknown) => {
      const result = parsePolicy(raw, 'test');
      return 'error' in result ? result.error.message : '';
    };
    expect(message({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' } })).toBe(
      'policy "x" (test): apiVersion: must be evictionguard.io/v1alpha1; kind: must be EvictionPolicy; spec: Invalid input: expected object, received undefined',
    );
    expect(message('just text')).toMatch(/^policy <unnamed> \(test\): Invalid input: expected object/);
  });

  it('lists at most five problems and counts the rest', () => {
    const message = policyError('action: a\nfailurePolicy: b\nmessage: ""\nrules: [{ minReplicas: 0 }, { requirePDB: 1 }, { protect: 1 }, { cel: {} }]') ?? '';
    expect(message.split('; ')).toHaveLength(6);
    expect(message).toMatch(/; and \d+ more$/);
  });
});
