import { celEnv, parse, plan } from '@bufbuild/cel';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { zonedTimestampMethods } from '../../src/policy/cel-time';

const METHODS = ['getFullYear', 'getMonth', 'getDate', 'getDayOfMonth', 'getDayOfWeek', 'getDayOfYear', 'getHours', 'getMinutes', 'getSeconds', 'getMilliseconds'];
const ZONES = ['UTC', 'Europe/Berlin', 'America/New_York', 'Asia/Kolkata', 'Australia/Lord_Howe', '+05:30', '-08:00', '02:00'];
const INSTANTS = [
  '2024-03-31T00:59:59.250Z', // Berlin just before the spring-forward jump
  '2024-03-31T01:00:00Z', // and just after
  '2024-10-27T00:30:00Z', // Berlin's repeated hour, first time
  '2024-10-27T01:30:00Z', // and second time
  '2024-11-03T06:30:00Z', // New York fall back
  '2024-12-31T23:59:59.999Z', // a year boundary somewhere
  '2024-02-29T12:00:00Z', // a leap day
];

const evaluate = (funcs: typeof zonedTimestampMethods, expression: string, instant: string) =>
  plan(celEnv({ funcs }), parse(expression))({ now: timestampFromDate(new Date(instant)) } as never);

describe('time zone methods of CEL timestamps', () => {
  it('answer as @bufbuild/cel does, for every method, zone and instant outside the midnight hour', () => {
    for (const method of METHODS) {
      for (const zone of ZONES) {
        for (const instant of INSTANTS) {
          if (evaluate(zonedTimestampMethods, `now.getHours("${zone}")`, instant) === 0n) continue;
          const expression = `now.${method}("${zone}")`;
          expect({ expression, instant, value: evaluate(zonedTimestampMethods, expression, instant) }).toEqual({
            expression,
            instant,
            value: evaluate([], expression, instant),
          });
        }
      }
    }
  });

  it('stay on the same day in the midnight hour, where the library rolls over to the next one', () => {
    const at = (expression: string, instant: string) => evaluate(zonedTimestampMethods, expression, instant);
    expect(['getHours', 'getDate', 'getMonth'].map((method) => at(`now.${method}("UTC")`, '2024-03-31T00:59:59.250Z'))).toEqual([0n, 31n, 2n]);
    expect(evaluate([], 'now.getMonth("UTC")', '2024-03-31T00:59:59.250Z')).toBe(3n); // the library's April
    // 00:30 on New Year's Day in Berlin.
    const newYear = '2024-12-31T23:30:00Z';
    expect(['getFullYear', 'getMonth', 'getDate', 'getDayOfYear', 'getHours'].map((method) => at(`now.${method}("Europe/Berlin")`, newYear))).toEqual([
      2025n,
      0n,
      1n,
      0n,
      0n,
    ]);
  });

  it('read each instant of a minute right, and the next minute across a jump, though a zone is formatted once a minute', () => {
    const at = (expression: string, instant: string) => evaluate(zonedTimestampMethods, expression, instant);
    expect(at('now.getSeconds("Europe/Berlin")', '2024-03-31T00:59:10.100Z')).toBe(10n);
    expect(at('now.getSeconds("Europe/Berlin")', '2024-03-31T00:59:50.900Z')).toBe(50n);
    expect(at('now.getMilliseconds("Europe/Berlin")', '2024-03-31T00:59:50.900Z')).toBe(900n);
    expect(at('now.getHours("Europe/Berlin")', '2024-03-31T00:59:59.999Z')).toBe(1n);
    expect(at('now.getHours("Europe/Berlin")', '2024-03-31T01:00:00.000Z')).toBe(3n);
  });

  it('reject an unknown zone as the library does', () => {
    const value = evaluate(zonedTimestampMethods, 'now.getHours("Mars/Olympus")', INSTANTS[0]);
    expect(String(value)).toMatch(/Invalid time zone/);
  });
});
