import { parseServeOptions } from '../../src/cli/serve';
import { UsageError } from '../../src/cli/usage';

describe('eviction-guard serve flags for metrics, Events and the audit trail', () => {
  it('has metrics on 0.0.0.0:9090, Events for denials, no audit file and a ring of 1000 by default', () => {
    expect(parseServeOptions([])).toMatchObject({
      metricsPort: 9090,
      metricsAddress: '0.0.0.0',
      events: 'deny',
      auditFile: undefined,
      auditRecent: 1000,
    });
  });

  it('reads every flag', () => {
    const options = parseServeOptions([
      '--metrics-port', '0',
      '--metrics-address', '127.0.0.1',
      '--events', 'all',
      '--audit-file', '/var/log/eviction-guard/audit.log',
      '--audit-file-max-bytes', '1048576',
      '--audit-file-keep', '10',
      '--audit-recent', '200',
    ]);
    expect(options).toMatchObject({
      metricsPort: 0,
      metricsAddress: '127.0.0.1',
      events: 'all',
      auditFile: '/var/log/eviction-guard/audit.log',
      auditFileMaxBytes: 1048576,
      auditFileKeep: 10,
      auditRecent: 200,
    });
  });

  it('turns the metrics listener, Events and /audit/recent off', () => {
    expect(parseServeOptions(['--metrics-port', 'off', '--events', 'off', '--audit-recent', '0'])).toMatchObject({ metricsPort: 'off', events: 'off', auditRecent: 0 });
  });

  it.each([
    [['--metrics-port', '99999'], /--metrics-port must be a port number from 0 to 65535, got "99999"/],
    [['--metrics-port', 'none'], /--metrics-port must be a port number/],
    [['--metrics-address', ''], /--metrics-address needs an address/],
    [['--events', 'warn'], /--events must be one of all, deny, off, got "warn"/],
    [['--audit-file', ''], /--audit-file needs a path/],
    [['--audit-file-max-bytes', '1000'], /--audit-file-max-bytes needs --audit-file/],
    [['--audit-file-keep', '3'], /--audit-file-keep needs --audit-file/],
    [['--audit-file', 'a.log', '--audit-file-max-bytes', '100'], /--audit-file-max-bytes must be a whole number from 1024/],
    [['--audit-file', 'a.log', '--audit-file-max-bytes', '10MB'], /--audit-file-max-bytes must be a whole number/],
    [['--audit-file', 'a.log', '--audit-file-keep', '0'], /--audit-file-keep must be a whole number from 1 to 1000, got "0"/],
    [['--audit-recent', '100001'], /--audit-recent must be a whole number from 0 to 100000/],
    [['--audit-recent', '1e3'], /--audit-recent must be a whole number/],
  ])('refuses %j', (argv, message) => {
    expect(() => parseServeOptions(argv)).toThrow(UsageError);
    expect(() => parseServeOptions(argv)).toThrow(message);
  });
});
