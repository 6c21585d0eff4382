import { isoNow, withoutRedaction } from '../../src/audit/logger';
import { captureLog } from '../helpers/log-capture';

describe('the process logger', () => {
  it('redacts credentials under any top-level field', () => {
    const { logger, lines } = captureLog('info');
    logger.info({ request: { token: 'secret-token', headers: { authorization: 'Bearer x' }, name: 'web' } }, 'a request');

    expect(lines[0]).toMatchObject({ app: 'eviction-guard', msg: 'a request', request: { token: '[redacted]', headers: { authorization: '[redacted]' }, name: 'web' } });
  });

  it('writes the same lines without redaction for fields it builds itself, at the same level', () => {
    const { logger, lines } = captureLog('info');
    const audit = withoutRedaction(logger);
    audit.info({ audit: { uid: 'u1', pod: 'team-a/web-0', token: 'kept' } }, 'eviction allowed');
    audit.debug({ audit: { uid: 'u2' } }, 'below the level');

    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 30, app: 'eviction-guard', msg: 'eviction allowed', audit: { uid: 'u1', pod: 'team-a/web-0', token: 'kept' } });
    expect(Object.keys(lines[0])).toEqual(['level', 'time', 'app', 'audit', 'msg']);
  });

  it('stamps lines with the ISO time of the millisecond', () => {
    jest.useFakeTimers({ now: Date.parse('2026-12-07T10:00:00.123Z') });
    try {
      const { logger, lines } = captureLog('info');
      logger.info('first');
      const first = isoNow();
      expect(isoNow()).toBe(first);
      jest.advanceTimersByTime(1);
      logger.info('second');

      expect(first).toBe('2026-12-07T10:00:00.123Z');
      expect(isoNow()).toBe('2026-12-07T10:00:00.124Z');
      expect(lines.map((line) => line.time)).toEqual(['2026-12-07T10:00:00.123Z', '2026-12-07T10:00:00.124Z']);
    } finally {
      jest.useRealTimers();
    }
  });

  it('formats the time once per millisecond however many lines it stamps', () => {
    const formats = jest.spyOn(Date.prototype, 'toISOString');
    try {
      const stamps = new Set<string>();
      for (let line = 0; line < 2000; line++) stamps.add(isoNow());
      expect(formats.mock.calls.length).toBe(stamps.size);
      expect(stamps.size).toBeLessThan(2000);
    } finally {
      formats.mockRestore();
    }
  });
});
