import { memoryInventory } from '../src/cluster/inventory';
import type { ClusterView } from '../src/cluster/view';
import type { EvictionAttempt, EvictionFacts, Finding } from '../src/domain';
import { evaluateEviction, type PolicyCheck } from '../src/evaluate';
import { attemptFor, pdbFacts, podFacts } from './helpers/facts';

const denyFacts: EvictionFacts = {
  pod: podFacts('web-1'),
  pdbs: [pdbFacts('web-pdb', {}, { disruptionsAllowed: 0, currentHealthy: 2, desiredHealthy: 2 })],
  podsInNamespace: () => [],
  source: 'cache',
};
const allowFacts: EvictionFacts = { ...denyFacts, pdbs: [pdbFacts('web-pdb')], source: 'live' };

function viewOf(facts: () => Promise<EvictionFacts>, confirm: () => Promise<EvictionFacts>): ClusterView & { confirms: number } {
  const view = {
    confirms: 0,
    factSource: 'cache' as const,
    start: async () => {},
    stop: async () => {},
    isSynced: () => true,
    status: () => ({ mode: 'live' as const, synced: true, resources: [] }),
    facts,
    inventory: () => memoryInventory({}),
    confirm: () => {
      view.confirms++;
      return confirm();
    },
  };
  return view;
}

describe('evaluateEviction()', () => {
  it('re-decides a cached deny on live facts, and allows when the API server disagrees', async () => {
    const view = viewOf(async () => denyFacts, async () => allowFacts);
    const { verdict, context } = await evaluateEviction(attemptFor('web-1'), view);
    expect(view.confirms).toBe(1);
    expect(verdict.allowed).toBe(true);
    expect(context).toMatchObject({ factSource: 'live', confirmedLive: true, nodeName: 'node-a' });
  });

  it('keeps the deny when the live read agrees', async () => {
    const view = viewOf(async () => denyFacts, async () => ({ ...denyFacts, source: 'live' }));
    const { verdict, context } = await evaluateEviction(attemptFor('web-1'), view);
    expect(verdict.status?.code).toBe(429);
    expect(context.confirmedLive).toBe(true);
  });

  it('fails open with a warning when the confirming read fails', async () => {
    const view = viewOf(async () => denyFacts, async () => Promise.reject(new Error('timed out after 2000 ms')));
    const { verdict, context } = await evaluateEviction(attemptFor('web-1'), view);
    expect(verdict.allowed).toBe(true);
    expect(verdict.findings[0].message).toContain('timed out after 2000 ms');
    expect(context).toMatchObject({ factSource: 'cache', confirmedLive: false });
  });

  it('does not confirm an allow, nor a deny from a snapshot', async () => {
    const allowView = viewOf(async () => ({ ...allowFacts, source: 'cache' }), async () => allowFacts);
    await evaluateEviction(attemptFor('web-1'), allowView);
    const snapshotView = viewOf(async () => ({ ...denyFacts, source: 'snapshot' }), async () => allowFacts);
    const { verdict } = await evaluateEviction(attemptFor('web-1'), snapshotView);
    expect(allowView.confirms + snapshotView.confirms).toBe(0);
    expect(verdict.allowed).toBe(false);
  });

  describe('with policies', () => {
    const protectCheck = (): PolicyCheck & { calls: { facts: EvictionFacts; unconfirmed?: string }[] } => {
      const calls: { facts: EvictionFacts; unconfirmed?: string }[] = [];
      const check = (_attempt: EvictionAttempt, facts: EvictionFacts, unconfirmed?: string): Finding[] => {
        calls.push({ facts, unconfirmed });
        return facts.pod?.labels.app === 'db' ? [{ check: 'policy/p/protect', action: 'deny', code: 403, message: 'protected' }] : [];
      };
      return Object.assign(check, { calls });
    };
    const dbFacts: EvictionFacts = { ...allowFacts, pod: podFacts('db-0', { labels: { app: 'db' } }), source: 'cache' };

    it('adds policy findings to the decision', async () => {
      const view = viewOf(async () => ({ ...dbFacts, source: 'snapshot' }), async () => allowFacts);
      const { verdict } = await evaluateEviction(attemptFor('db-0'), view, protectCheck());
      expect(verdict.status?.code).toBe(403);
      expect(verdict.findings.map((finding) => finding.check)).toEqual(['pdb/none', 'policy/p/protect']);
    });

    it('re-checks policies on the live facts that confirm a cached policy denial', async () => {
      const check = protectCheck();
      const view = viewOf(async () => dbFacts, async () => ({ ...allowFacts, pod: podFacts('db-0', { labels: { app: 'db-moved' } }) }));
      const { verdict, context } = await evaluateEviction(attemptFor('db-0'), view, check);
      expect(view.confirms).toBe(1);
      expect(verdict.allowed).toBe(true);
      expect(context.confirmedLive).toBe(true);
      expect(check.calls.map((call) => call.facts.source)).toEqual(['cache', 'live']);
    });

    it('tells the policies when the confirming read failed', async () => {
      const check = protectCheck();
      const view = viewOf(async () => dbFacts, async () => Promise.reject(new Error('timed out after 2000 ms')));
      const { verdict } = await evaluateEviction(attemptFor('db-0'), view, check);
      expect(check.calls.map((call) => call.unconfirmed)).toEqual([undefined, 'timed out after 2000 ms']);
      // The policy denial stands; only a mirror denial would fail open.
      expect(verdict.status?.code).toBe(403);
    });
  });

  it('fails open when the facts cannot be read at all', async () => {
    const view = viewOf(async () => Promise.reject(new Error('connect ECONNREFUSED')), async () => allowFacts);
    const { verdict, context } = await evaluateEviction(attemptFor('web-1'), view);
    expect(verdict.allowed).toBe(true);
    expect(verdict.findings[0]).toMatchObject({ check: 'cluster/unavailable' });
    expect(context.factSource).toBe('none');
  });
});
