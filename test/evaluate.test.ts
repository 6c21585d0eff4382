import { memoryInventory } from '../src/cluster/inventory';
import type { ClusterView } from '../src/cluster/view';
import type { EvictionAttempt, EvictionFacts, Finding } from '../src/domain';
import { evaluateEviction, type PolicyCheck } from '../src/evaluate';
import { evaluatePolicies, type PolicyEvaluation } from '../src/policy/engine';
import type { EvictionPolicy } from '../src/policy/schema';
import { Reserver } from '../src/reservation/reserver';
import { MemoryReservationStore } from '../src/reservation/store';
import { policy } from './helpers/policies';
import type { PolicyCheckInputs } from '../src/policy/service';
import { attemptFor, factsFor, pdbFacts, podFacts } from './helpers/facts';

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
      const check = (_attempt: EvictionAttempt, facts: EvictionFacts, inputs?: PolicyCheckInputs): PolicyEvaluation => {
        calls.push({ facts, unconfirmed: inputs?.unconfirmed });
        const findings: Finding[] = facts.pod?.labels.app === 'db' ? [{ check: 'policy/p/protect', action: 'deny', code: 403, message: 'protected' }] : [];
        return { findings, claims: [] };
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

  describe('reserving what counting rules claim', () => {
    const web = ['web-1', 'web-2', 'web-3'].map((name) => podFacts(name, { owner: { kind: 'ReplicaSet', name: 'web-rs' } }));
    const factsOf = (name: string): EvictionFacts => {
      const pod = web.find((candidate) => candidate.name === name)!;
      return factsFor(pod, [pdbFacts('web-pdb')], web.filter((other) => other !== pod));
    };
    const policiesOf =
      (policies: EvictionPolicy[]): PolicyCheck =>
      (attempt, facts, inputs) =>
        evaluatePolicies(policies, attempt, facts, { now: new Date('2024-06-05T10:00:00Z'), mode: 'enforce', ...inputs });
    const oneAtATime = (failurePolicy = 'Fail') => policiesOf([policy('one', `failurePolicy: ${failurePolicy}\nrules: [{ maxDisruptions: { per: owner, count: 1 } }]`)]);
    let store: MemoryReservationStore;
    let reserver: Reserver;
    beforeEach(() => {
      store = new MemoryReservationStore();
      reserver = new Reserver({ store, ttlMs: 60_000, instance: 'replica-a' });
    });
    const evict = (name: string, check: PolicyCheck, overrides: Partial<EvictionAttempt> = {}, mayReserve?: () => boolean) =>
      evaluateEviction(attemptFor(name, overrides), viewOf(async () => factsOf(name), async () => factsOf(name)), check, { reserver, mayReserve });
    const reservedNames = () => store.all().flatMap((record) => record.entries.map((entry) => entry.name));

    it('reserves an allowed eviction, and the next one of the scope counts it', async () => {
      const first = await evict('web-1', oneAtATime());
      expect(first.verdict.allowed).toBe(true);
      expect(first.context.reservation).toEqual({ result: 'reserved', scopes: ['owner/shop/ReplicaSet/web-rs'], attempts: 1, conflicts: 0 });
      expect(reservedNames()).toEqual(['web-1']);

      const second = await evict('web-2', oneAtATime());
      expect(second.verdict.status?.code).toBe(429);
      expect(second.verdict.status?.message).toContain('[policy/one/maxDisruptions] 1 pod of ReplicaSet shop/web-rs is already in disruption (reserved: web-1); the limit is 1.');
      expect(second.context.reservation?.result).toBe('denied');
      // The reserved pod's own retry still passes.
      expect((await evict('web-1', oneAtATime())).context.reservation?.result).toBe('held');
    });

    it('asks mayReserve about the pod as read, only when it would write', async () => {
      const mayReserve = jest.fn(() => true);
      await evict('web-1', oneAtATime(), { dryRun: true }, mayReserve);
      expect(mayReserve).not.toHaveBeenCalled();
      await evict('web-1', oneAtATime(), {}, mayReserve);
      expect(mayReserve).toHaveBeenCalledWith(expect.objectContaining({ namespace: 'shop', name: 'web-1' }));
      expect(reservedNames()).toEqual(['web-1']);
    });

    it('counts reservations for a dry run and a request that may not write, and writes none', async () => {
      expect((await evict('web-1', oneAtATime(), { dryRun: true })).context.reservation?.result).toBe('dry-run');
      expect((await evict('web-1', oneAtATime(), {}, () => false)).context.reservation?.result).toBe('skipped');
      expect(reservedNames()).toEqual([]);
      await evict('web-1', oneAtATime());
      expect((await evict('web-2', oneAtATime(), { dryRun: true })).verdict.status?.code).toBe(429);
    });

    it('never reserves for the PDB mirror, nor for an eviction denied anyway', async () => {
      const mirrorOnly = await evict('web-1', policiesOf([]));
      expect(mirrorOnly.verdict.allowed).toBe(true);
      expect(mirrorOnly.context.reservation).toBeUndefined();
      const protectedToo = policiesOf([policy('one', 'rules: [{ maxDisruptions: { per: owner, count: 1 } }]'), policy('keep', 'rules: [{ protect: {} }]')]);
      expect((await evict('web-1', protectedToo)).context.reservation).toBeUndefined();
      expect(store.all()).toEqual([]);
    });

    it('answers 429 "could not reserve" under failurePolicy Fail when the record cannot be read, and allows with a warning under Ignore', async () => {
      store.read = () => Promise.reject(new Error('GET …/leases/x: connect ECONNREFUSED'));
      const failed = await evict('web-1', oneAtATime('Fail'));
      expect(failed.verdict.status).toMatchObject({ code: 429, reason: 'TooManyRequests' });
      expect(failed.verdict.status?.message).toContain('[policy/one/maxDisruptions] Could not reserve this eviction, which counts toward the limit (memory: GET …/leases/x: connect ECONNREFUSED); retry.');
      expect(failed.context.reservation).toMatchObject({ result: 'failed', error: 'memory: GET …/leases/x: connect ECONNREFUSED' });

      const ignored = await evict('web-1', oneAtATime('Ignore'));
      expect(ignored.verdict.allowed).toBe(true);
      expect(ignored.verdict.warnings).toEqual(['policy one: allowed without a reservation; concurrent evictions may exceed its limit']);
    });
  });
});
