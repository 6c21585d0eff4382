import { describeWallClock, isTimeZone, isWithin, parseTimeRange, wallClock, type TimeRange } from '../../src/policy/window';

function range(text: string): TimeRange {
  const parsed = parseTimeRange(text);
  if (typeof parsed === 'string') throw new Error(parsed);
  return parsed;
}

const at = (iso: string, timeZone: string) => wallClock(new Date(iso), timeZone);

describe('parseTimeRange()', () => {
  it.each([
    ['Mon-Fri 09:00-17:00', [1, 2, 3, 4, 5], 540, 1020],
    ['Sat,Sun 00:00-24:00', [0, 6], 0, 1440],
    ['Fri-Mon 22:00-06:00', [0, 1, 5, 6], 1320, 360],
    ['mon,wed-thu 08:30-12:00', [1, 3, 4], 510, 720],
    ['22:00-06:00', [0, 1, 2, 3, 4, 5, 6], 1320, 360],
    ['Sat-Sun', [0, 6], 0, 1440],
  ])('reads %j', (text, days, startMinute, endMinute) => {
    const parsed = range(text);
    expect([...parsed.days].sort()).toEqual(days);
    expect(parsed).toMatchObject({ startMinute, endMinute, text });
  });

  it.each([
    ['Mon-Fri 9:00-17:00', /is not a time range/],
    ['Mon-Fry 09:00-17:00', /"Mon-Fry" is not a day or day range/],
    ['Mon-Tue-Wed 09:00-17:00', /"Mon-Tue-Wed" is not a day/],
    ['Mon 24:00-25:00', /"24:00" is not a time of day/],
    ['Mon 09:00-24:30', /"24:30" is not a time of day \(00:00 to 23:59, or 24:00 as an end\)/],
    ['Mon 09:60-10:00', /"09:60" is not a time of day/],
    ['Mon 09:00-09:00', /is empty: start and end are equal/],
    ['whenever', /"whenever" is not a day/],
    ['', /is not a time range/],
  ])('rejects %j with a message', (text, message) => {
    expect(parseTimeRange(text)).toEqual(expect.stringMatching(message));
  });
});

describe('isWithin()', () => {
  const businessHours = range('Mon-Fri 09:00-17:00');

  it('includes the start minute and excludes the end minute', () => {
    expect(isWithin(businessHours, { weekday: 1, minute: 8 * 60 + 59 })).toBe(false);
    expect(isWithin(businessHours, { weekday: 1, minute: 9 * 60 })).toBe(true);
    expect(isWithin(businessHours, { weekday: 5, minute: 16 * 60 + 59 })).toBe(true);
    expect(isWithin(businessHours, { weekday: 5, minute: 17 * 60 })).toBe(false);
    expect(isWithin(businessHours, { weekday: 6, minute: 12 * 60 })).toBe(false);
  });

  it('carries a range that crosses midnight into the next day, keyed by its start day', () => {
    const fridayNight = range('Fri 22:00-02:00');
    expect(isWithin(fridayNight, { weekday: 5, minute: 21 * 60 + 59 })).toBe(false);
    expect(isWithin(fridayNight, { weekday: 5, minute: 22 * 60 })).toBe(true);
    expect(isWithin(fridayNight, { weekday: 6, minute: 0 })).toBe(true);
    expect(isWithin(fridayNight, { weekday: 6, minute: 119 })).toBe(true);
    expect(isWithin(fridayNight, { weekday: 6, minute: 120 })).toBe(false);
    // Thursday night is not listed.
    expect(isWithin(fridayNight, { weekday: 5, minute: 60 })).toBe(false);
  });

  it('wraps Saturday night into Sunday morning', () => {
    const saturdayNight = range('Sat 23:00-01:00');
    expect(isWithin(saturdayNight, { weekday: 0, minute: 30 })).toBe(true);
  });

  it('covers the whole day up to 24:00', () => {
    expect(isWithin(range('Sun 00:00-24:00'), { weekday: 0, minute: 1439 })).toBe(true);
  });
});

describe('wallClock()', () => {
  it('reads the local weekday and time of the zone', () => {
    // 23:30 UTC on a Sunday is already Monday 01:30 in Berlin (CEST, UTC+2).
    expect(at('2024-06-02T23:30:00Z', 'Europe/Berlin')).toEqual({ weekday: 1, minute: 90 });
    expect(at('2024-06-02T23:30:00Z', 'UTC')).toEqual({ weekday: 0, minute: 23 * 60 + 30 });
    expect(describeWallClock(at('2024-06-03T07:05:00Z', 'Europe/Berlin'))).toBe('Mon 09:05');
  });

  it('follows Europe/Berlin across the spring-forward gap (02:00 → 03:00 on 2024-03-31)', () => {
    const night = range('Sun 02:30-03:30');
    expect(at('2024-03-31T00:59:59Z', 'Europe/Berlin')).toEqual({ weekday: 0, minute: 119 });
    expect(at('2024-03-31T01:00:00Z', 'Europe/Berlin')).toEqual({ weekday: 0, minute: 180 });
    // Local 02:30 never happens; the range is open from the jump to 03:30, half an hour.
    expect(isWithin(night, at('2024-03-31T00:59:00Z', 'Europe/Berlin'))).toBe(false);
    expect(isWithin(night, at('2024-03-31T01:00:00Z', 'Europe/Berlin'))).toBe(true);
    expect(isWithin(night, at('2024-03-31T01:29:00Z', 'Europe/Berlin'))).toBe(true);
    expect(isWithin(night, at('2024-03-31T01:30:00Z', 'Europe/Berlin'))).toBe(false);
  });

  it('follows Europe/Berlin across the fall-back repeat (03:00 → 02:00 on 2024-10-27)', () => {
    const night = range('Sun 02:00-03:00');
    // Local 02:00-03:00 happens twice: 00:00-01:00 UTC (CEST) and 01:00-02:00 UTC (CET).
    expect(isWithin(night, at('2024-10-26T23:59:00Z', 'Europe/Berlin'))).toBe(false);
    expect(isWithin(night, at('2024-10-27T00:30:00Z', 'Europe/Berlin'))).toBe(true);
    expect(isWithin(night, at('2024-10-27T01:30:00Z', 'Europe/Berlin'))).toBe(true);
    expect(isWithin(night, at('2024-10-27T02:00:00Z', 'Europe/Berlin'))).toBe(false);
  });

  it('keeps business hours on the wall clock when America/New_York changes offset', () => {
    const businessHours = range('Mon-Fri 09:00-17:00');
    // Friday 2024-03-08 is EST (UTC-5): 09:00 local is 14:00 UTC.
    expect(isWithin(businessHours, at('2024-03-08T13:59:00Z', 'America/New_York'))).toBe(false);
    expect(isWithin(businessHours, at('2024-03-08T14:00:00Z', 'America/New_York'))).toBe(true);
    // Monday 2024-03-11, after the switch on Sunday 2024-03-10, is EDT (UTC-4): 09:00 local is 13:00 UTC.
    expect(isWithin(businessHours, at('2024-03-11T12:59:00Z', 'America/New_York'))).toBe(false);
    expect(isWithin(businessHours, at('2024-03-11T13:00:00Z', 'America/New_York'))).toBe(true);
    expect(isWithin(businessHours, at('2024-03-11T20:59:00Z', 'America/New_York'))).toBe(true);
    expect(isWithin(businessHours, at('2024-03-11T21:00:00Z', 'America/New_York'))).toBe(false);
  });

  it('reads the America/New_York spring-forward and fall-back nights (2024-03-10, 2024-11-03)', () => {
    expect(at('2024-03-10T06:59:00Z', 'America/New_York')).toEqual({ weekday: 0, minute: 60 + 59 });
    expect(at('2024-03-10T07:00:00Z', 'America/New_York')).toEqual({ weekday: 0, minute: 180 });
    expect(at('2024-11-03T05:30:00Z', 'America/New_York')).toEqual({ weekday: 0, minute: 90 });
    expect(at('2024-11-03T06:30:00Z', 'America/New_York')).toEqual({ weekday: 0, minute: 90 });
  });
});

describe('isTimeZone()', () => {
  it('knows IANA names and rejects others', () => {
    expect(isTimeZone('Europe/Berlin')).toBe(true);
    expect(isTimeZone('UTC')).toBe(true);
    expect(isTimeZone('Europe/Berln')).toBe(false);
    expect(isTimeZone('CEST+2')).toBe(false);
  });
});
