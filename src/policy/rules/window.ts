import type { WindowRule } from '../schema';
import { describeWallClock, isWithin, wallClock } from '../window';
import type { RuleInput, Violation } from './types';

const RETRY_HINT = 'retry inside the window; kubectl drain retries on its own';

/** `window`: evictions only inside the allow ranges and outside the deny ranges, on the zone's wall clock. */
export function checkWindow(rule: WindowRule, input: RuleInput): Violation | undefined {
  const clock = wallClock(input.now, rule.timeZone);
  // Built only for a violation: most evictions pass, and this rule runs for each of them.
  const localNow = () => `it is ${describeWallClock(clock)} there`;
  if (rule.allow !== undefined && !rule.allow.some((range) => isWithin(range, clock))) {
    const allowed = rule.allow.map((range) => range.text).join(', ');
    return {
      message: `Evictions are allowed only ${allowed} (${rule.timeZone}); ${localNow()}.`,
      summary: `outside the eviction window ${allowed} ${rule.timeZone}`,
      hint: RETRY_HINT,
      retryable: true,
    };
  }
  const denied = rule.deny?.find((range) => isWithin(range, clock));
  if (denied === undefined) return undefined;
  return {
    message: `Evictions are not allowed ${denied.text} (${rule.timeZone}); ${localNow()}.`,
    summary: `no evictions ${denied.text} ${rule.timeZone}`,
    hint: RETRY_HINT,
    retryable: true,
  };
}
