import { combineFindings, decide, failOpenVerdict } from '../src/decide';
import type { Finding } from '../src/domain';
import { attemptFor, factsFor, pdbFacts, podFacts } from './helpers/facts';

const exhausted = pdbFacts('web-pdb', {}, { disruptionsAllowed: 0, currentHealthy: 3, desiredHealthy: 3 });
const finding = (check: string, action: Finding['action'], extra: Partial<Finding> = {}): Finding => ({ check, action, message: `${check} says so`, ...extra });

describe('decide()', () => {
  it('allows with audit annotations naming the checks and PDBs', () => {
    const verdict = decide(attemptFor('web-1'), factsFor(podFacts('web-1'), [pdbFacts('web-pdb')]));
    expect(verdict).toMatchObject({
      allowed: true,
      warnings: [],
      auditAnnotations: { decision: 'allow', checks: 'pdb/budget', pdbs: 'shop/web-pdb' },
      pdbs: ['shop/web-pdb'],
    });
    expect(verdict.findings[0].action).toBe('audit');
  });

  it('puts the API server message first and one line per finding after it', () => {
    const verdict = decide(attemptFor('web-1'), factsFor(podFacts('web-1'), [exhausted]));
    const lines = verdict.status?.message.split('\n') ?? [];
    expect(lines[0]).toBe("Cannot evict pod as it would violate the pod's disruption budget.");
    expect(lines[1]).toMatch(/^\[pdb\/budget\] PDB shop\/web-pdb .* Fix: /);
    expect(lines).toHaveLength(2);
  });

  it('gives the same decision on dryRun', () => {
    const facts = factsFor(podFacts('web-1'), [exhausted]);
    const real = decide(attemptFor('web-1'), facts);
    const dry = decide(attemptFor('web-1', { dryRun: true }), facts);
    expect(dry).toEqual(real);
  });

  it('fails open when a cached deny could not be confirmed live', () => {
    const verdict = decide(attemptFor('web-1'), factsFor(podFacts('web-1'), [exhausted]), { confirmFailed: 'connect ECONNREFUSED' });
    expect(verdict.allowed).toBe(true);
    expect(verdict.findings[0]).toMatchObject({ check: 'cluster/unconfirmed', action: 'warn' });
    expect(verdict.findings[0].message).toContain('connect ECONNREFUSED');
    expect(verdict.warnings[0]).toMatch(/could not confirm a pdb\/budget denial/);
    expect(verdict.pdbs).toEqual(['shop/web-pdb']);
  });

  it('does not touch an allow when the confirm failed', () => {
    const verdict = decide(attemptFor('web-1'), factsFor(podFacts('web-1'), []), { confirmFailed: 'timeout' });
    expect(verdict.findings.map((f) => f.check)).toEqual(['pdb/none']);
  });

  it('failOpenVerdict allows with a warning', () => {
    const verdict = failOpenVerdict('API server timed out');
    expect(verdict.allowed).toBe(true);
    expect(verdict.findings[0].message).toContain('API server timed out');
    expect(verdict.warnings).toHaveLength(1);
    expect(verdict.auditAnnotations).toEqual({ decision: 'allow', checks: 'cluster/unavailable' });
  });

  describe('combining findings', () => {
    it('lets a non-retryable 403 win over a 429, so drains do not retry forever', () => {
      const verdict = combineFindings([
        finding('pdb/budget', 'deny', { code: 429, reason: 'TooManyRequests' }),
        finding('policy/protect', 'deny', { code: 403, reason: 'Forbidden' }),
      ]);
      expect(verdict.status?.code).toBe(403);
      expect(verdict.status?.message.split('\n')).toEqual([
        'eviction-guard denied this eviction (policy/protect); retrying will not help.',
        '[policy/protect] policy/protect says so',
        '[pdb/budget] pdb/budget says so',
      ]);
    });

    it('keeps the first of several 429s (the mirror comes first)', () => {
      const verdict = combineFindings([
        finding('pdb/stale', 'deny', { code: 429, retryAfterSeconds: 10 }),
        finding('policy/window', 'deny', { code: 429, retryAfterSeconds: 60 }),
      ]);
      expect(verdict.status).toMatchObject({ code: 429, reason: 'TooManyRequests', details: { retryAfterSeconds: 10 } });
    });

    it('heads a retryable policy denial with its check and that retrying can succeed', () => {
      const verdict = combineFindings([finding('pdb/none', 'audit'), finding('policy/hours/window', 'deny', { code: 429 })]);
      expect(verdict.status?.message.split('\n')).toEqual([
        'eviction-guard blocked this eviction for now (policy/hours/window); retrying later can succeed.',
        '[policy/hours/window] policy/hours/window says so',
      ]);
    });

    it('defaults a deny without a code to 403 Forbidden', () => {
      expect(combineFindings([finding('policy/x', 'deny')]).status).toMatchObject({ code: 403, reason: 'Forbidden' });
    });

    it('allows when findings only warn or audit, keeping their warnings', () => {
      const verdict = combineFindings([finding('a', 'warn', { warning: 'careful' }), finding('b', 'audit')]);
      expect(verdict.allowed).toBe(true);
      expect(verdict.warnings).toEqual(['careful']);
      expect(verdict.auditAnnotations.checks).toBe('a,b');
    });

    it('names each PDB once, in the order the findings name them', () => {
      const verdict = combineFindings([
        finding('pdb/budget', 'audit', { pdbs: ['shop/b', 'shop/a'] }),
        finding('policy/p/requirePDB', 'warn', { pdbs: ['shop/a', 'shop/c'] }),
      ]);
      expect(verdict.pdbs).toEqual(['shop/b', 'shop/a', 'shop/c']);
      expect(verdict.auditAnnotations).toEqual({ decision: 'allow', checks: 'pdb/budget,policy/p/requirePDB', pdbs: 'shop/b,shop/a,shop/c' });
    });

    it('sends at most five distinct warnings of at most 120 characters', () => {
      const findings = [
        finding('dup1', 'warn', { warning: 'same' }),
        finding('dup2', 'warn', { warning: 'same' }),
        ...Array.from({ length: 6 }, (_, i) => finding(`w${i}`, 'warn', { warning: `${i}`.repeat(300) })),
      ];
      const { warnings } = combineFindings(findings);
      expect(warnings).toHaveLength(5);
      expect(warnings[0]).toBe('same');
      for (const warning of warnings) expect(warning.length).toBeLessThanOrEqual(120);
    });
  });
});
