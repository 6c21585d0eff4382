// Weekly time ranges ("Mon-Fri 09:00-17:00") read on the wall clock of an IANA time zone. The local
// weekday and time come from Intl.DateTimeFormat, so daylight-saving changes need no special
// case: a range means what the clocks on the wall of that zone show.

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'] as const;

const MINUTES_PER_DAY = 24 * 60;

/** One weekly range. A range whose end is not after its start crosses midnight into the next day. */
export interface TimeRange {
  /** As written in the policy, for messages. */
  text: string;
  /** Days the range starts on: 0 is Sunday. */
  days: ReadonlySet<number>;
  /** Minutes after local midnight: start inclusive, end exclusive (1440 for 24:00). */
  startMinute: number;
  endMinute: number;
}

/** A moment as the clocks of a time zone show it. */
export interface WallClock {
  weekday: number;
  minute: number;
}

const RANGE = /^(?:(\S+)\s+)?(\d{2}:\d{2})-(\d{2}:\d{2})$/;
const DAYS_ONLY = /^(\S+)$/;

function dayIndex(name: string): number | undefined {
  const index = WEEKDAYS.findIndex((day) => day.toLowerCase() === name.toLowerCase());
  return index < 0 ? undefined : index;
}

/** "Mon-Fri", "Sat,Sun", "Fri-Mon" (wrapping), "Mon,Wed-Fri". */
function parseDays(text: string): Set<number> | string {
  const days = new Set<number>();
  for (const part of text.split(',')) {
    const [first, last, extra] = part.split('-');
    const from = dayIndex(first);
    const to = last === undefined ? from : dayIndex(last);
    if (extra !== undefined || from === undefined || to === undefined) {
      return `"${part}" is not a day or day range (use ${WEEKDAYS.join(', ')}, e.g. Mon-Fri or Sat,Sun)`;
    }
    for (let day = from; ; day = (day + 1) % 7) {
      days.add(day);
      if (day === to) break;
    }
  }
  return days;
}

function parseMinute(text: string, isEnd: boolean): number | string {
  const [hours, minutes] = text.split(':').map(Number);
  if (isEnd && hours === 24 && minutes === 0) return MINUTES_PER_DAY;
  if (hours > 23 || minutes > 59) return `"${text}" is not a time of day (00:00 to 23:59${isEnd ? ', or 24:00 as an end' : ''})`;
  return hours * 60 + minutes;
}

const ALL_DAYS: ReadonlySet<number> = new Set([0, 1, 2, 3, 4, 5, 6]);

/**
 * Parses "[DAYS] HH:MM-HH:MM" or "DAYS". Without days the range applies every day; without times
 * it covers the whole day. Returns the problem as a string when the text does not parse.
 */
export function parseTimeRange(text: string): TimeRange | string {
  const trimmed = text.trim();
  const ranged = RANGE.exec(trimmed);
  const daysOnly = ranged === null ? DAYS_ONLY.exec(trimmed) : null;
  if (ranged === null && (daysOnly === null || /\d/.test(trimmed))) {
    return `"${text}" is not a time range: write "[DAYS] HH:MM-HH:MM" or "DAYS", e.g. "Mon-Fri 09:00-17:00", "22:00-06:00" or "Sat-Sun"`;
  }
  const daysText = ranged?.[1] ?? daysOnly?.[1];
  const days = daysText === undefined ? ALL_DAYS : parseDays(daysText);
  if (typeof days === 'string') return days;
  if (ranged === null) return { text: trimmed, days, startMinute: 0, endMinute: MINUTES_PER_DAY };

  const startMinute = parseMinute(ranged[2], false);
  if (typeof startMinute === 'string') return startMinute;
  const endMinute = parseMinute(ranged[3], true);
  if (typeof endMinute === 'string') return endMinute;
  if (startMinute === endMinute) return `"${text}" is empty: start and end are equal (write 00:00-24:00 for a whole day)`;
  return { text: trimmed, days, startMinute, endMinute };
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (formatter === undefined) {
    formatter = new Intl.DateTimeFormat('en-US', { timeZone, weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

/** True when the runtime knows this IANA time zone. */
export function isTimeZone(timeZone: string): boolean {
  try {
    formatterFor(timeZone);
    return true;
  } catch {
    return false;
  }
}

/**
 * The last wall clock read per zone, by minute since the epoch: every zone's offset is a whole
 * number of minutes, so one formatting per zone and minute serves every policy and request.
 */
const lastRead = new Map<string, { epochMinute: number; clock: WallClock }>();

export function wallClock(instant: Date, timeZone: string): WallClock {
  const epochMinute = Math.floor(instant.getTime() / 60_000);
  const last = lastRead.get(timeZone);
  if (last?.epochMinute === epochMinute) return last.clock;
  const clock = readWallClock(instant, timeZone);
  lastRead.set(timeZone, { epochMinute, clock });
  return clock;
}

function readWallClock(instant: Date, timeZone: string): WallClock {
  let weekday = 0;
  let hour = 0;
  let minute = 0;
  for (const part of formatterFor(timeZone).formatToParts(instant)) {
    if (part.type === 'weekday') weekday = dayIndex(part.value) ?? 0;
    else if (part.type === 'hour') hour = Number(part.value);
    else if (part.type === 'minute') minute = Number(part.value);
  }
  return { weekday, minute: hour * 60 + minute };
}

export function isWithin(range: TimeRange, clock: WallClock): boolean {
  const { days, startMinute, endMinute } = range;
  if (startMinute < endMinute) return days.has(clock.weekday) && clock.minute >= startMinute && clock.minute < endMinute;
  // Crossing midnight: the evening part on a listed day, or the morning part after one.
  return (days.has(clock.weekday) && clock.minute >= startMinute) || (days.has((clock.weekday + 6) % 7) && clock.minute < endMinute);
}

/** "Sat 10:15", for messages. */
export function describeWallClock(clock: WallClock): string {
  const pad = (value: number) => String(value).padStart(2, '0');
  return `${WEEKDAYS[clock.weekday]} ${pad(Math.floor(clock.minute / 60))}:${pad(clock.minute % 60)}`;
}
