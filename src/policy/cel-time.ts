// The CEL timestamp methods that take a time zone (`now.getHours("Europe/Berlin")`), with the
// semantics of @bufbuild/cel 0.6's own (std/time.js) but for two things:
// - one Intl.DateTimeFormat per zone, read once per zone and minute: the library builds one on
//   every call, about 80 µs, which 20 policies would pay on every eviction;
// - the midnight hour: the library asks for `hour12: false` next to `hourCycle: "h23"`, which makes
//   Intl print 00:30 as "24:30", so in that hour it answers the next day (and month, and year).
import { celMethod, CelScalar, objectType, type CelFunc } from '@bufbuild/cel';
import { timestampDate, TimestampSchema, type Timestamp } from '@bufbuild/protobuf/wkt';

const TIMESTAMP = objectType(TimestampSchema);
const FIXED_OFFSET = /^(?<sign>[+-]?)(?<hours>\d\d):(?<minutes>\d\d)$/;

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (formatter === undefined) {
    formatter = new Intl.DateTimeFormat('en-US', {
      hourCycle: 'h23',
      timeZone,
      year: 'numeric',
      month: 'numeric',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

/**
 * The zone's offset from UTC per zone and minute since the epoch: zones change offset on whole
 * minutes, so one formatting per zone and minute serves every policy and request (each request has
 * its own `now`, so caching the answer per instant would format on every eviction).
 */
const offsets = new Map<string, { epochMinute: number; offsetMs: number }>();

function zoneOffsetMs(instant: Date, timeZone: string): number {
  const epochMinute = Math.floor(instant.getTime() / 60_000);
  const last = offsets.get(timeZone);
  if (last?.epochMinute === epochMinute) return last.offsetMs;
  const part: Record<string, number> = {};
  for (const { type, value } of formatterFor(timeZone).formatToParts(instant)) part[type] = Number(value);
  const wallClock = Date.UTC(part.year, part.month - 1, part.day, part.hour, part.minute, part.second);
  const offsetMs = wallClock - Math.floor(instant.getTime() / 1000) * 1000;
  offsets.set(timeZone, { epochMinute, offsetMs });
  return offsetMs;
}

/** The zone's wall-clock date and time as a local Date, which the getters then read (as the library does). */
function zonedDate(instant: Date, timeZone: string): Date {
  const offset = FIXED_OFFSET.exec(timeZone)?.groups;
  const offsetMs =
    offset === undefined
      ? zoneOffsetMs(instant, timeZone)
      : (offset.sign === '-' ? -1 : 1) * (Number(offset.hours) * 3_600_000 + Number(offset.minutes) * 60_000);
  const shifted = new Date(instant.getTime() + offsetMs);
  return new Date(shifted.getUTCFullYear(), shifted.getUTCMonth(), shifted.getUTCDate(), shifted.getUTCHours(), shifted.getUTCMinutes(), shifted.getUTCSeconds(), shifted.getUTCMilliseconds());
}

function dayOfYear(date: Date): number {
  const start = new Date(0, 0, 1);
  start.setFullYear(date.getFullYear());
  return Math.floor((date.getTime() - start.getTime()) / 86_400_000);
}

const GETTERS: Record<string, (date: Date) => number> = {
  getFullYear: (date) => date.getFullYear(),
  getMonth: (date) => date.getMonth(),
  getDate: (date) => date.getDate(),
  getDayOfMonth: (date) => date.getDate() - 1,
  getDayOfWeek: (date) => date.getDay(),
  getDayOfYear: dayOfYear,
  getHours: (date) => date.getHours(),
  getMinutes: (date) => date.getMinutes(),
  getSeconds: (date) => date.getSeconds(),
  getMilliseconds: (date) => date.getMilliseconds(),
};

/** Replacements for the library's `timestamp.getX(string)` overloads (same ids, so they take their place). */
export const zonedTimestampMethods: CelFunc[] = Object.entries(GETTERS).map(([name, get]) =>
  celMethod(name, TIMESTAMP, [CelScalar.STRING], CelScalar.INT, function (timeZone) {
    return BigInt(get(zonedDate(timestampDate((this as unknown as { message: Timestamp }).message), timeZone)));
  }),
);
