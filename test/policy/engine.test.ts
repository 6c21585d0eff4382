import { contextFromFacts } from '../../src/cluster/context';
import { decide } from '../../src/decide';
import type { EvictionFacts, PodFacts } from '../../src/domain';
import { evaluatePolicies, policyFindings, type PolicyCheckOptions } from '../../src/policy/engine';
import type { EvictionPolicy } from '../../src/policy/schema';
import { attemptFor, factsFor, pdbFacts, podFacts } from '../helpers/facts';
import { policy } from '../helpers/policies';

const wednesdayNoon = new Date('2024-06-05T10:00:00Z'); // 12:00 in Berlin
const enforce: PolicyCheckOptions = { now: wednesdayNoon, mode: 'enforce' };
const facts = (pod: PodFacts = podFacts('web-1'), others: PodFacts[] = []) => factsFor(pod, [pdbFacts('web-pdb')], others);
const alice = attemptFor('web-1', { requester: { username: 'alice', groups: ['dev'] } });
const findings = (policies: EvictionPolicy[], options: Partial<PolicyCheckOptions> = {}, evictionFacts: EvictionFacts = facts(), attempt = alice) =>
  policyFindings(policies, attempt, evictionFacts, { ...enforce, ...options });

const businessHoursFreeze = (action = 'Deny') =>
  policy('freeze', `action: ${action}\nrules: [{ window: { deny: ["Mon-Fri 09:00-17:00"], timeZone: Europe/Berlin } }]`);
const protectDb = policy('protect-db', 'match: { podSelector: { matchLabels: { app: db } } }\nrules: [{ protect: {} }]');

describe('policyFindings()', () => {
  it('finds nothing without policies', () => {
    expect(findings([])).toEqual([]);
  });

  it('denies with 429 for a window and 403 for protect, one finding per rule, check ids policy/<name>/<rule>', () => {
    const both = policy('both', 'rules: [{ protect: {} }, { window: { deny: ["Wed 00:00-24:00"], timeZone: UTC } }]');
    expect(findings([both])).toEqual([
      {
        check: 'policy/both/protect',
        action: 'deny',
        code: 403,
        message: 'Pod shop/web-1 is protected: this policy does not allow evicting it.',
        hint: 'change the policy if the pod may go, or delete the pod directly',
      },
      {
        check: 'policy/both/window',
        action: 'deny',
        code: 429,
        message: 'Evictions are not allowed Wed 00:00-24:00 (UTC); it is Wed 10:00 there.',
        hint: 'retry inside the window; kubectl drain retries on its own',
      },
    ]);
  });

  it('evaluates only policies that select the pod and apply to the requester', () => {
    const forBob = policy('bob-only', 'match: { subjects: [{ kind: User, name: bob }] }\nrules: [{ protect: {} }]');
    const notAlice = policy('not-alice', 'match: { excludeSubjects: [{ kind: Group, name: dev }] }\nrules: [{ protect: {} }]');
    const otherNamespace = policy('kube', 'match: { namespaces: [kube-*] }\nrules: [{ protect: {} }]');
    expect(findings([protectDb, forBob, notAlice, otherNamespace])).toEqual([]);
    expect(findings([protectDb], {}, facts(podFacts('db-0', { labels: { app: 'db' } })))).toHaveLength(1);
  });

  it('warns with a short admission warning for Warn and only records for Audit', () => {
    expect(findings([businessHoursFreeze('Warn')])).toEqual([
      expect.objectContaining({
        check: 'policy/freeze/window',
        action: 'warn',
        warning: 'policy freeze: no evictions Mon-Fri 09:00-17:00 Europe/Berlin',
      }),
    ]);
    const [audited] = findings([businessHoursFreeze('Audit')]);
    expect(audited).toMatchObject({ check: 'policy/freeze/window', action: 'audit' });
    expect(audited).not.toHaveProperty('code');
    expect(audited).not.toHaveProperty('warning');
  });

  it('keeps every warning within 120 characters', () => {
    const wordy = policy('a-policy-with-a-rather-long-name-for-warnings', `action: Warn\nrules: [{ cel: { expression: "false", message: ${'"' + 'x'.repeat(200) + '"'} } }]`);
    expect(findings([wordy])[0].warning?.length).toBe(120);
  });

  it('appends the policy message to the rule message', () => {
    const withMessage = policy('freeze', 'message: "Ask #platform-oncall."\nrules: [{ window: { deny: ["Wed"], timeZone: UTC } }]');
    expect(findings([withMessage])[0].message).toBe('Evictions are not allowed Wed (UTC); it is Wed 10:00 there. Ask #platform-oncall.');
  });

  describe('--mode', () => {
    it('lowers Deny to a warning that says it would deny, under warn', () => {
      const [finding] = findings([businessHoursFreeze()], { mode: 'warn' });
      expect(finding).toMatchObject({ action: 'warn', warning: 'policy freeze would deny: no evictions Mon-Fri 09:00-17:00 Europe/Berlin' });
      expect(finding.message).toMatch(/\(deny lowered to warn by --mode warn\)$/);
      expect(finding).not.toHaveProperty('code');
    });

    it('lowers Deny and Warn to audit records under audit', () => {
      expect(findings([businessHoursFreeze(), businessHoursFreeze('Warn')], { mode: 'audit' }).map((f) => f.action)).toEqual(['audit', 'audit']);
    });

    it('leaves actions below the ceiling alone', () => {
      expect(findings([businessHoursFreeze('Audit')], { mode: 'warn' })[0].action).toBe('audit');
      expect(findings([businessHoursFreeze('Warn')], { mode: 'warn' })[0].message).not.toContain('lowered');
    });
  });

  describe('CEL runtime errors follow failurePolicy', () => {
    const failing = (failurePolicy: string) => policy('needs-tier', `failurePolicy: ${failurePolicy}\nrules: [{ cel: { expression: "pod.metadata.labels.tier == \\"web\\"" } }]`);

    it('count as a violation under Fail, the default', () => {
      expect(findings([failing('Fail')])).toEqual([
        {
          check: 'policy/needs-tier/cel',
          action: 'deny',
          code: 403,
          evaluationFailed: true,
          message:
            'CEL evaluation failed: line 1, column 20: pod.metadata.labels has no key "tier" (keys: app); test it first: has(pod.metadata.labels.tier) or "tier" in pod.metadata.labels; counted as a violation (failurePolicy: Fail).',
          hint: 'fix the expression, or set failurePolicy: Ignore',
        },
      ]);
    });

    it('pass under Ignore, recorded for the audit log', () => {
      expect(findings([failing('Ignore')])).toEqual([
        {
          check: 'policy/needs-tier/cel',
          action: 'audit',
          message:
            'CEL evaluation failed: line 1, column 20: pod.metadata.labels has no key "tier" (keys: app); test it first: has(pod.metadata.labels.tier) or "tier" in pod.metadata.labels; ignored (failurePolicy: Ignore).',
          evaluationFailed: true,
        },
      ]);
    });
  });

  describe('a denial from cached state that could not be confirmed live', () => {
    it('stands under failurePolicy Fail', () => {
      expect(findings([businessHoursFreeze()], { unconfirmed: 'timed out' })[0]).toMatchObject({ action: 'deny', code: 429 });
    });

    it('lets the eviction through with a warning under failurePolicy Ignore', () => {
      const lenient = policy('lenient', 'failurePolicy: Ignore\nrules: [{ protect: {} }]');
      const [finding] = findings([lenient], { unconfirmed: 'timed out' });
      expect(finding).toMatchObject({ action: 'warn', warning: 'policy lenient would deny: pod shop/web-1 is protected' });
      expect(finding.message).toContain('could not be confirmed live (timed out); allowed (failurePolicy: Ignore)');
      expect(findings([lenient])[0].action).toBe('deny');
    });
  });

  describe('pods that evicting does not disrupt', () => {
    it.each([
      ['missing', undefined],
      ['finished', podFacts('web-1', { phase: 'Succeeded' })],
      ['failed', podFacts('web-1', { phase: 'Failed' })],
      ['terminating', podFacts('web-1', { deleting: true, annotations: { 'evictionguard.io/protect': 'true' } })],
    ])('skips a %s pod', (_, pod) => {
      expect(findings([protectDb, businessHoursFreeze()], {}, factsFor(pod, []))).toEqual([]);
    });

    it('still evaluates a Pending pod', () => {
      expect(findings([businessHoursFreeze()], {}, facts(podFacts('web-1', { phase: 'Pending', nodeName: undefined })))).toHaveLength(1);
    });
  });

  describe('the evictionguard.io/protect annotation', () => {
    const annotated = podFacts('db-0', { labels: { app: 'db' }, annotations: { 'evictionguard.io/protect': 'true' } });
    const namespace = { name: 'shop', labels: {}, annotations: { 'evictionguard.io/protect': 'true' } };

    it('denies a pod annotated "true" with 403, even without policies', () => {
      expect(findings([], {}, facts(annotated))).toEqual([
        {
          check: 'policy/annotation-protect',
          action: 'deny',
          code: 403,
          message: 'Pod shop/db-0 is protected: it has the annotation evictionguard.io/protect=true.',
          hint: 'remove the evictionguard.io/protect annotation if it may go, or evict as a subject an EvictionPolicy exempts (spec.annotationProtection.exemptSubjects)',
        },
      ]);
      expect(findings([], {}, facts(podFacts('db-0', { annotations: { 'evictionguard.io/protect': 'false' } })))).toEqual([]);
    });

    it('denies the pods of an annotated namespace', () => {
      const plain = facts();
      const inProtectedNamespace: EvictionFacts = { ...plain, context: { ...contextFromFacts(plain.pod!, plain), namespace } };
      expect(findings([], {}, inProtectedNamespace)[0].message).toBe(
        'Pod shop/web-1 is protected: its namespace shop has the annotation evictionguard.io/protect=true.',
      );
    });

    it('lets subjects through that a policy selecting the pod exempts', () => {
      const dba = policy('dba', 'match: { podSelector: { matchLabels: { app: db } } }\nannotationProtection: { exemptSubjects: [{ kind: Group, name: dev }] }');
      expect(findings([dba], {}, facts(annotated))).toEqual([]);
      // The same exemption does not reach pods the policy does not select, nor other requesters.
      expect(findings([dba], {}, facts({ ...annotated, labels: { app: 'cache' } }))).toHaveLength(1);
      expect(findings([dba], {}, facts(annotated), attemptFor('db-0'))).toHaveLength(1);
    });

    it('is lowered by --mode like a policy denial', () => {
      expect(findings([], { mode: 'warn' }, facts(annotated))[0]).toMatchObject({
        action: 'warn',
        warning: 'eviction-guard would deny: pod shop/db-0 is protected by evictionguard.io/protect',
      });
    });
  });

  describe('combined by decide()', () => {
    it('puts a policy 403 before a PDB 429, one line per finding', () => {
      const exhausted = factsFor(podFacts('web-1'), [pdbFacts('web-pdb', {}, { disruptionsAllowed: 0, currentHealthy: 3, desiredHealthy: 3 })]);
      const policies = [policy('no-evict', 'rules: [{ protect: {} }]'), businessHoursFreeze('Warn')];
      const verdict = decide(alice, exhausted, { extraFindings: findings(policies, {}, exhausted) });
      expect(verdict.status?.code).toBe(403);
      expect(verdict.status?.message.split('\n').map((line) => line.slice(0, 40))).toEqual([
        'eviction-guard denied this eviction (pol',
        '[policy/no-evict/protect] Pod shop/web-1',
        '[pdb/budget] PDB shop/web-pdb (minAvaila',
        '[policy/freeze/window] Evictions are not',
      ]);
      expect(verdict.warnings).toContain('policy freeze: no evictions Mon-Fri 09:00-17:00 Europe/Berlin');
      expect(verdict.auditAnnotations.checks).toBe('pdb/budget,policy/no-evict/protect,policy/freeze/window');
    });

    it('gives a dryRun eviction the same decision', () => {
      const policies = [businessHoursFreeze()];
      const real = decide(alice, facts(), { extraFindings: findings(policies) });
      const dryAttempt = { ...alice, dryRun: true };
      const dry = decide(dryAttempt, facts(), { extraFindings: findings(policies, {}, facts(), dryAttempt) });
      expect(dry).toEqual(real);
      expect(dry.status?.code).toBe(429);
    });
  });

  describe('claims of counting rules', () => {
    const web = (name: string, overrides: Partial<PodFacts> = {}) => podFacts(name, { owner: { kind: 'ReplicaSet', name: 'web-rs' }, ...overrides });
    const counted = (action = 'Deny', failurePolicy = 'Fail', per = 'owner') =>
      policy(`one-${action.toLowerCase()}-${per}`, `action: ${action}\nfailurePolicy: ${failurePolicy}\nrules: [{ maxDisruptions: { per: ${per}, count: 1 } }]`);
    const evaluate = (policies: EvictionPolicy[], options: Partial<PolicyCheckOptions> = {}) =>
      evaluatePolicies(policies, alice, facts(web('web-1'), [web('web-2')]), { ...enforce, ...options });

    it('reports the scope each passing maxDisruptions rule of a Deny policy counted in, with its check id', () => {
      expect(evaluate([counted(), counted('Deny', 'Fail', 'node')])).toEqual({
        findings: [],
        claims: [
          { scope: { scope: 'owner', key: 'shop/ReplicaSet/web-rs' }, check: 'policy/one-deny-owner/maxDisruptions' },
          { scope: { scope: 'node', key: 'node-a' }, check: 'policy/one-deny-node/maxDisruptions' },
        ],
      });
    });

    it('claims nothing for Warn and Audit policies, nor for a rule that denies', () => {
      expect(evaluate([counted('Warn'), counted('Audit')]).claims).toEqual([]);
      const busy = evaluatePolicies([counted()], alice, facts(web('web-1'), [web('web-2', { deleting: true })]), enforce);
      expect(busy.claims).toEqual([]);
      expect(busy.findings.map((finding) => finding.code)).toEqual([429]);
    });

    it('claims under --mode warn, so that its warnings say what enforce would deny', () => {
      expect(evaluate([counted()], { mode: 'warn' }).claims).toHaveLength(1);
    });

    it('denies with 429 under failurePolicy Fail when the reservation could not be made', () => {
      const { findings: found, claims } = evaluate([counted()], { unreserved: 'Leases in namespace eviction-guard: timed out after 2000 ms' });
      expect(claims).toEqual([]);
      expect(found).toEqual([
        {
          check: 'policy/one-deny-owner/maxDisruptions',
          action: 'deny',
          code: 429,
          message: 'Could not reserve this eviction, which counts toward the limit (Leases in namespace eviction-guard: timed out after 2000 ms); retry.',
          hint: 'retry (kubectl drain retries on its own); if it persists, check that eviction-guard can read and write Leases in its namespace',
        },
      ]);
    });

    it('allows with a warning under failurePolicy Ignore, and lowers the Fail denial under --mode', () => {
      expect(evaluate([counted('Deny', 'Ignore')], { unreserved: 'HTTP 500' }).findings).toEqual([
        {
          check: 'policy/one-deny-owner/maxDisruptions',
          action: 'warn',
          message: 'This eviction counts toward the limit but could not be reserved (HTTP 500); allowed without a reservation (failurePolicy: Ignore).',
          warning: 'policy one-deny-owner: allowed without a reservation; concurrent evictions may exceed its limit',
        },
      ]);
      expect(evaluate([counted('Deny', 'Ignore')], { unreserved: 'HTTP 500', mode: 'audit' }).findings.map((finding) => finding.action)).toEqual(['audit']);
      expect(evaluate([counted()], { unreserved: 'HTTP 500', mode: 'warn' }).findings).toEqual([
        expect.objectContaining({ action: 'warn', warning: 'policy one-deny-owner would deny: could not reserve; retry' }),
      ]);
    });
  });
});
