import { RecentDecisions } from '../../src/audit/recent';
import type { AuditEntry } from '../../src/audit/trail';

const entry = (uid: string): AuditEntry => ({
  time: '2026-03-02T10:00:00.000Z',
  msg: 'eviction allowed',
  audit: { uid, user: 'u', groups: [], pod: 'shop/web-1', dryRun: false, allowed: true, checks: [], pdbs: [], latencyMs: 0.1, factSource: 'cache', confirmedLive: false, caller: 'unauthenticated' },
});
const uids = (entries: AuditEntry[]) => entries.map((item) => item.audit.uid);

describe('RecentDecisions', () => {
  it('answers the last N, oldest first, as the audit file reads', () => {
    const recent = new RecentDecisions(5);
    for (const uid of ['a', 'b', 'c']) recent.add(entry(uid));
    expect(uids(recent.latest(2))).toEqual(['b', 'c']);
    expect(uids(recent.latest(50))).toEqual(['a', 'b', 'c']);
  });

  it('keeps only the newest `capacity` entries', () => {
    const recent = new RecentDecisions(3);
    for (const uid of ['a', 'b', 'c', 'd', 'e']) recent.add(entry(uid));
    expect(recent.count).toBe(3);
    expect(uids(recent.latest(3))).toEqual(['c', 'd', 'e']);
    expect(uids(recent.latest(1))).toEqual(['e']);
  });

  it('refuses a capacity below 1', () => {
    expect(() => new RecentDecisions(0)).toThrow(/at least 1/);
  });
});
