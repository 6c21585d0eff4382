import path from 'node:path';
import { parseServeOptions } from '../../src/cli/serve';
import { UsageError } from '../../src/cli/usage';

describe('eviction-guard serve flags', () => {
  it('defaults to port 8443, info logging and certs/ for a self-signed pair', () => {
    expect(parseServeOptions([])).toEqual({
      port: 8443,
      tlsCert: undefined,
      tlsKey: undefined,
      kubeconfig: undefined,
      snapshot: undefined,
      policies: [],
      mode: 'enforce',
      pdbGuard: 'warn',
      logLevel: 'info',
      certDir: path.resolve('certs'),
      metricsPort: 9090,
      metricsAddress: '0.0.0.0',
      events: 'deny',
      auditFile: undefined,
      auditFileMaxBytes: 10 * 1024 * 1024,
      auditFileKeep: 5,
      auditRecent: 1000,
      reservationTtlMs: 120_000,
      reservationNamespace: undefined,
      pdbLintIntervalMs: 60_000,
      clientCa: undefined,
      clientNames: [],
    });
  });

  it('reads --client-ca and repeated --client-name', () => {
    expect(parseServeOptions(['--client-ca', 'ca.crt'])).toMatchObject({ clientCa: 'ca.crt', clientNames: [] });
    expect(parseServeOptions(['--client-ca', 'ca.crt', '--client-name', 'kube-apiserver', '--client-name', 'apiserver-webhook-client'])).toMatchObject({
      clientCa: 'ca.crt',
      clientNames: ['kube-apiserver', 'apiserver-webhook-client'],
    });
  });

  it('reads --reservation-ttl in seconds and --reservation-namespace', () => {
    expect(parseServeOptions(['--reservation-ttl', '30', '--reservation-namespace', 'guards'])).toMatchObject({ reservationTtlMs: 30_000, reservationNamespace: 'guards' });
    expect(parseServeOptions(['--reservation-ttl', '1.5'])).toMatchObject({ reservationTtlMs: 1500 });
  });

  it('reads --pdb-lint-interval in seconds, or off', () => {
    expect(parseServeOptions(['--pdb-lint-interval', '300'])).toMatchObject({ pdbLintIntervalMs: 300_000 });
    expect(parseServeOptions(['--pdb-lint-interval', '1.5'])).toMatchObject({ pdbLintIntervalMs: 1500 });
    expect(parseServeOptions(['--pdb-lint-interval', 'off'])).toMatchObject({ pdbLintIntervalMs: 'off' });
  });

  it('reads repeated --policy paths and --mode', () => {
    expect(parseServeOptions(['--policy', 'a.yaml', '--policy', 'policies/', '--mode', 'warn'])).toMatchObject({
      policies: ['a.yaml', 'policies/'],
      mode: 'warn',
    });
    expect(parseServeOptions(['--mode', 'audit'])).toMatchObject({ mode: 'audit' });
  });

  it('reads --pdb-guard', () => {
    expect(parseServeOptions(['--pdb-guard', 'deny'])).toMatchObject({ pdbGuard: 'deny' });
    expect(parseServeOptions(['--pdb-guard', 'off'])).toMatchObject({ pdbGuard: 'off' });
  });

  it('reads every flag', () => {
    const options = parseServeOptions(['--port', '9443', '--tls-cert', 'a.crt', '--tls-key', 'a.key', '--kubeconfig', 'kc', '--log-level', 'debug']);
    expect(options).toMatchObject({ port: 9443, tlsCert: 'a.crt', tlsKey: 'a.key', kubeconfig: 'kc', logLevel: 'debug' });
    expect(parseServeOptions(['--snapshot', 'cluster.yaml'])).toMatchObject({ snapshot: 'cluster.yaml' });
  });

  it('answers help for -h and --help', () => {
    expect(parseServeOptions(['-h'])).toBe('help');
    expect(parseServeOptions(['--help'])).toBe('help');
  });

  it.each([
    [['--port', '70000'], /--port must be a port number/],
    [['--port', 'abc'], /--port must be a port number/],
    [['--tls-cert', 'a.crt'], /--tls-cert and --tls-key go together/],
    [['--tls-key', 'a.key'], /--tls-cert and --tls-key go together/],
    [['--kubeconfig', 'kc', '--snapshot', 's.yaml'], /alternatives/],
    [['--log-level', 'loud'], /--log-level must be one of/],
    [['--mode', 'strict'], /--mode must be one of enforce, warn, audit, got "strict"/],
    [['--pdb-guard', 'block'], /--pdb-guard must be one of warn, deny, off, got "block"/],
    [['--reservation-ttl', '0'], /--reservation-ttl must be a number of seconds above 0, got "0"/],
    [['--reservation-ttl', '2m'], /--reservation-ttl must be a number of seconds above 0, got "2m"/],
    [['--reservation-ttl', '7200'], /--reservation-ttl must be at most 3600 seconds, got "7200"/],
    [['--reservation-namespace', 'Eviction_Guard'], /--reservation-namespace must be a namespace name/],
    [['--pdb-lint-interval', '0.5'], /--pdb-lint-interval must be at least 1 second or off, got "0.5"/],
    [['--pdb-lint-interval', 'never'], /--pdb-lint-interval must be a number of seconds above 0, got "never"/],
    [['--pdb-lint-interval', '0'], /--pdb-lint-interval must be a number of seconds above 0/],
    [['--client-name', 'kube-apiserver'], /--client-name needs --client-ca/],
    [['--client-ca', ''], /--client-ca needs a file/],
    [['--client-ca', 'ca.crt', '--client-name', ' '], /--client-name needs a name/],
    [['--no-such-flag'], /Unknown option '--no-such-flag'/],
    [['stray'], /Unexpected argument 'stray'|positional/],
  ])('rejects %j with a usage error', (argv, message) => {
    expect(() => parseServeOptions(argv)).toThrow(UsageError);
    expect(() => parseServeOptions(argv)).toThrow(message);
  });
});
