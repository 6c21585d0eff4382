import { withoutRedaction } from '../../src/audit/logger';
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
});
