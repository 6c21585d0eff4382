import { checkWindow } from '../../../src/policy/rules/window';
import type { WindowRule } from '../../../src/policy/schema';
import { policy, ruleInput } from '../../helpers/policies';

const windowRule = (yaml: string) => policy('w', `rules: [{ window: ${yaml} }]`).rules[0] as WindowRule;
const check = (rule: WindowRule, iso: string) => checkWindow(rule, ruleInput({ now: new Date(iso) }));

describe('window rule', () => {
  const businessHours = windowRule('{ allow: ["Mon-Fri 09:00-17:00"], timeZone: Europe/Berlin }');

  it('passes inside an allow range, from its first minute to before its end', () => {
    // 2024-06-05 is a Wednesday; Berlin is UTC+2 in June.
    expect(check(businessHours, '2024-06-05T07:00:00Z')).toBeUndefined();
    expect(check(businessHours, '2024-06-05T14:59:59Z')).toBeUndefined();
  });

  it('denies retryably outside the allow ranges, saying the local time', () => {
    expect(check(businessHours, '2024-06-05T06:59:00Z')).toEqual({
      message: 'Evictions are allowed only Mon-Fri 09:00-17:00 (Europe/Berlin); it is Wed 08:59 there.',
      summary: 'outside the eviction window Mon-Fri 09:00-17:00 Europe/Berlin',
      hint: 'retry inside the window; kubectl drain retries on its own',
      retryable: true,
    });
    expect(check(businessHours, '2024-06-05T15:00:00Z')?.message).toContain('it is Wed 17:00 there');
    expect(check(businessHours, '2024-06-08T10:00:00Z')?.message).toContain('it is Sat 12:00 there');
  });

  it('denies inside a deny range and passes outside it', () => {
    const freeze = windowRule('{ deny: ["Mon-Fri 09:00-17:00", "Sat-Sun"], timeZone: America/New_York }');
    expect(check(freeze, '2024-06-05T12:59:00Z')).toBeUndefined(); // Wed 08:59 EDT
    expect(check(freeze, '2024-06-05T13:00:00Z')?.message).toBe(
      'Evictions are not allowed Mon-Fri 09:00-17:00 (America/New_York); it is Wed 09:00 there.',
    );
    expect(check(freeze, '2024-06-08T16:00:00Z')?.message).toContain('not allowed Sat-Sun (America/New_York); it is Sat 12:00 there');
  });

  it('combines allow and deny: inside an allow range and outside every deny range', () => {
    const nights = windowRule('{ allow: ["22:00-06:00"], deny: ["Sat 22:00-06:00"], timeZone: UTC }');
    expect(check(nights, '2024-06-05T23:00:00Z')).toBeUndefined(); // Wed night
    expect(check(nights, '2024-06-06T05:59:00Z')).toBeUndefined(); // Thu early morning, after Wed's start
    expect(check(nights, '2024-06-06T06:00:00Z')?.message).toContain('allowed only 22:00-06:00');
    expect(check(nights, '2024-06-09T01:00:00Z')?.message).toContain('not allowed Sat 22:00-06:00 (UTC); it is Sun 01:00 there');
  });

  it('keeps the window on local time on a DST change day (Europe/Berlin, 2024-03-31)', () => {
    const sundayMorning = windowRule('{ allow: ["Sun 03:00-04:00"], timeZone: Europe/Berlin }');
    expect(check(sundayMorning, '2024-03-31T00:59:00Z')).toBeDefined(); // 01:59 CET
    expect(check(sundayMorning, '2024-03-31T01:00:00Z')).toBeUndefined(); // 03:00 CEST
    expect(check(sundayMorning, '2024-03-31T01:59:00Z')).toBeUndefined(); // 03:59 CEST
    expect(check(sundayMorning, '2024-03-31T02:00:00Z')).toBeDefined(); // 04:00 CEST
  });
});
