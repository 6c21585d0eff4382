import { X509Certificate } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import type { TLSSocket } from 'node:tls';
import { parseAllDocuments } from 'yaml';
import { makeCerts, parseCertsOptions, runCerts, type CertsOptions } from '../../src/cli/certs';
import { UsageError } from '../../src/cli/usage';
import { startHttpsServer } from '../../src/server/https';
import { opensslVerify } from '../helpers/openssl';

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'manifests');
const SERVICE_NAME = 'eviction-guard.eviction-guard.svc';
const DAY_MS = 24 * 60 * 60 * 1000;

let workDir: string;
let outDir: string;

beforeEach(() => {
  workDir = mkdtempSync(path.join(os.tmpdir(), 'eviction-guard-certs-cli-'));
  outDir = path.join(workDir, 'out');
});

afterEach(() => {
  rmSync(workDir, { recursive: true, force: true });
});

function options(overrides: Partial<CertsOptions> = {}): CertsOptions {
  return {
    service: 'eviction-guard',
    namespace: 'eviction-guard',
    outDir,
    days: 365,
    caDays: 3650,
    keyType: 'ecdsa',
    forceCa: false,
    printCaBundle: false,
    ...overrides,
  };
}

function read(name: string): string {
  return readFileSync(path.join(outDir, name), 'utf8');
}

/** runCerts with stdout and stderr captured. */
function run(argv: string[]): { code: number; stdout: string; stderr: string } {
  let stdout = '';
  let stderr = '';
  const code = runCerts(argv, { stdout: { write: (text: string) => (stdout += text) }, stderr: { write: (text: string) => (stderr += text) } });
  return { code, stdout, stderr };
}

describe('eviction-guard certs flags', () => {
  it('defaults to the eviction-guard Service in eviction-guard, certs/, 365/3650 days, RSA', () => {
    expect(parseCertsOptions([])).toEqual({
      service: 'eviction-guard',
      namespace: 'eviction-guard',
      outDir: path.resolve('certs'),
      days: 365,
      caDays: 3650,
      keyType: 'rsa',
      forceCa: false,
      patchManifests: undefined,
      printCaBundle: false,
    });
  });

  it('reads every flag', () => {
    const argv = ['--service', 'guard', '--namespace', 'ops', '--out', 'x', '--days', '30', '--ca-days', '60', '--key-type', 'ecdsa', '--force-ca', '--patch-manifests', 'deploy/webhook.yaml', '--print-ca-bundle'];
    expect(parseCertsOptions(argv)).toEqual({
      service: 'guard',
      namespace: 'ops',
      outDir: path.resolve('x'),
      days: 30,
      caDays: 60,
      keyType: 'ecdsa',
      forceCa: true,
      patchManifests: path.resolve('deploy/webhook.yaml'),
      printCaBundle: true,
    });
  });

  it('patches manifests/ when --patch-manifests has no value', () => {
    expect(parseCertsOptions(['--patch-manifests'])).toMatchObject({ patchManifests: path.resolve('manifests') });
    expect(parseCertsOptions(['--patch-manifests', '--print-ca-bundle'])).toMatchObject({ patchManifests: path.resolve('manifests'), printCaBundle: true });
    expect(parseCertsOptions(['--patch-manifests=deploy'])).toMatchObject({ patchManifests: path.resolve('deploy') });
  });

  it('answers help for -h and --help', () => {
    expect(parseCertsOptions(['-h'])).toBe('help');
    expect(run(['--help'])).toMatchObject({ code: 0, stdout: expect.stringContaining('Usage: eviction-guard certs') });
  });

  it.each([
    [['--key-type', 'dsa'], /--key-type must be one of rsa, ecdsa/],
    [['--days', '0'], /--days must be a whole number of days/],
    [['--days', '1.5'], /--days must be a whole number of days/],
    [['--ca-days', 'ten'], /--ca-days must be a whole number of days/],
    [['--days', '400', '--ca-days', '300'], /--days \(400\) cannot exceed --ca-days \(300\)/],
    [['--service', 'Eviction_Guard'], /--service must be a Service name/],
    [['--service', '1guard'], /--service must be a Service name/],
    [['--namespace', 'a.b'], /--namespace must be a namespace name/],
    [['--out', ''], /--out must name a directory/],
    [['--patch-manifests='], /--patch-manifests must name a file or directory/],
    [['--no-such-flag'], /Unknown option '--no-such-flag'/],
    [['stray'], /Unexpected argument 'stray'|positional/],
  ])('rejects %j with a usage error', (argv, message) => {
    expect(() => parseCertsOptions(argv)).toThrow(UsageError);
    expect(() => parseCertsOptions(argv)).toThrow(message);
  });
});

describe.each(['rsa', 'ecdsa'] as const)('eviction-guard certs --key-type %s', (keyType) => {
  it('writes ca.crt, ca.key, tls.crt and tls.key (keys 0600) into a directory it creates; the chain verifies', () => {
    const { code, stdout, stderr } = run(['--out', outDir, '--key-type', keyType]);

    expect(code).toBe(0);
    expect(stdout).toBe('');
    expect(stderr).toContain('made a new CA');
    expect(readdirSync(outDir).sort()).toEqual(['ca.crt', 'ca.key', 'tls.crt', 'tls.key']);
    expect(statSync(path.join(outDir, 'ca.key')).mode & 0o777).toBe(0o600);
    expect(statSync(path.join(outDir, 'tls.key')).mode & 0o777).toBe(0o600);
    expect(statSync(path.join(outDir, 'tls.crt')).mode & 0o777).toBe(0o644);
    const ca = new X509Certificate(read('ca.crt'));
    const leaf = new X509Certificate(read('tls.crt'));
    expect(ca.ca).toBe(true);
    expect(leaf.verify(ca.publicKey)).toBe(true);
    expect(opensslVerify(read('ca.crt'), read('tls.crt')).ok).toBe(true);
    expect(leaf.checkHost(SERVICE_NAME)).toBe(SERVICE_NAME);
  });

  it('serves TLS that a client trusting only ca.crt accepts for <service>.<namespace>.svc', async () => {
    run(['--out', outDir, '--key-type', keyType]);
    const server = await startHttpsServer({ app: (_req, res) => res.end('ok'), port: 0, host: '127.0.0.1', cert: read('tls.crt'), key: read('tls.key') });
    try {
      const reply = await new Promise<{ status?: number; authorized: boolean; text: string }>((resolve, reject) => {
        const request = https.request(
          { host: '127.0.0.1', port: server.port, path: '/', ca: read('ca.crt'), servername: SERVICE_NAME, rejectUnauthorized: true, agent: false },
          (response) => {
            let text = '';
            response.on('data', (chunk: Buffer) => (text += chunk.toString()));
            response.on('end', () => resolve({ status: response.statusCode, authorized: (response.socket as TLSSocket).authorized, text }));
          },
        );
        request.on('error', reject);
        request.end();
      });
      expect(reply).toEqual({ status: 200, authorized: true, text: 'ok' });

      // The same client refuses the server under a name the certificate does not carry.
      const wrongName = new Promise((resolve, reject) => {
        https.get({ host: '127.0.0.1', port: server.port, ca: read('ca.crt'), servername: 'other.eviction-guard.svc', agent: false }, resolve).on('error', reject);
      });
      await expect(wrongName).rejects.toMatchObject({ code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
    } finally {
      await server.close(100);
    }
  });
});

describe('running eviction-guard certs again', () => {
  it('re-issues only the serving pair: ca.crt and ca.key stay byte for byte', () => {
    run(['--out', outDir]);
    const before = { caCert: read('ca.crt'), caKey: read('ca.key'), cert: read('tls.crt'), key: read('tls.key') };
    const caMtime = statSync(path.join(outDir, 'ca.crt')).mtimeMs;

    const again = run(['--out', outDir]);

    expect(again.stderr).toContain('kept the CA');
    expect(read('ca.crt')).toBe(before.caCert);
    expect(read('ca.key')).toBe(before.caKey);
    expect(statSync(path.join(outDir, 'ca.crt')).mtimeMs).toBe(caMtime);
    expect(read('tls.crt')).not.toBe(before.cert);
    expect(read('tls.key')).not.toBe(before.key);
    expect(opensslVerify(before.caCert, read('tls.crt')).ok).toBe(true);
    expect(readdirSync(outDir).sort()).toEqual(['ca.crt', 'ca.key', 'tls.crt', 'tls.key']);
  });

  it('keeps an RSA CA when asked for ECDSA keys: the serving key is ECDSA, signed by the RSA CA', () => {
    run(['--out', outDir, '--key-type', 'rsa']);
    const caPem = read('ca.crt');

    const again = run(['--out', outDir, '--key-type', 'ecdsa']);

    expect(again.stderr).toContain('kept the CA');
    expect(read('ca.crt')).toBe(caPem);
    expect(new X509Certificate(read('tls.crt')).publicKey.asymmetricKeyType).toBe('ec');
    expect(opensslVerify(caPem, read('tls.crt')).ok).toBe(true);
  });

  it('makes a new CA with --force-ca', () => {
    run(['--out', outDir]);
    const caPem = read('ca.crt');

    const again = run(['--out', outDir, '--force-ca']);

    expect(again.stderr).toContain('made a new CA');
    expect(read('ca.crt')).not.toBe(caPem);
    expect(opensslVerify(read('ca.crt'), read('tls.crt')).ok).toBe(true);
    expect(opensslVerify(caPem, read('tls.crt')).ok).toBe(false);
  });

  it('refuses a CA that expires before the new serving certificate would, and says what to do', () => {
    makeCerts(options({ caDays: 300, days: 30 }));
    const caPem = read('ca.crt');

    expect(() => makeCerts(options({ days: 365 }))).toThrow(/ca\.crt expires at .*, before a 365-day serving certificate would: pass --days 299 or less, or pass --force-ca/);
    expect(() => makeCerts(options(), new Date(Date.now() + 301 * DAY_MS))).toThrow(/ca\.crt expired at .*; pass --force-ca/);
    expect(read('ca.crt')).toBe(caPem);
  });

  it.each([
    ['a corrupt ca.crt', () => writeFileSync(path.join(outDir, 'ca.crt'), 'garbage'), /cannot use the existing CA: .*ca\.crt is not a PEM certificate .*pass --force-ca/],
    ['a corrupt ca.key', () => writeFileSync(path.join(outDir, 'ca.key'), 'garbage'), /cannot use the existing CA: .*ca\.key is not a PEM private key/],
    ['ca.key missing', () => rmSync(path.join(outDir, 'ca.key')), /found .*ca\.crt but not .*ca\.key, which is needed to issue certificates: restore it, or pass --force-ca/],
    ['ca.crt missing', () => rmSync(path.join(outDir, 'ca.crt')), /found .*ca\.key but not .*ca\.crt/],
    ['a serving pair in place of the CA', () => {
      writeFileSync(path.join(outDir, 'ca.crt'), read('tls.crt'));
      writeFileSync(path.join(outDir, 'ca.key'), read('tls.key'));
    }, /ca\.crt is not a CA certificate/],
  ])('stops with a clear message on %s, and changes nothing', (_case, damage, message) => {
    run(['--out', outDir, '--key-type', 'ecdsa']);
    damage();
    const files = Object.fromEntries(readdirSync(outDir).map((name) => [name, read(name)]));

    expect(() => run(['--out', outDir])).toThrow(message);
    expect(Object.fromEntries(readdirSync(outDir).map((name) => [name, read(name)]))).toEqual(files);

    // --force-ca is the way out.
    expect(run(['--out', outDir, '--force-ca']).code).toBe(0);
    expect(opensslVerify(read('ca.crt'), read('tls.crt')).ok).toBe(true);
  });
});

describe('eviction-guard certs --patch-manifests and --print-ca-bundle', () => {
  let manifests: string;

  beforeEach(() => {
    manifests = path.join(workDir, 'manifests');
    cpSync(FIXTURES, manifests, { recursive: true });
  });

  function caBundles(file: string): unknown[] {
    return parseAllDocuments(readFileSync(file, 'utf8')).flatMap((document) =>
      document.get('kind') === 'ValidatingWebhookConfiguration'
        ? (document.toJS() as { webhooks: { clientConfig: { caBundle?: unknown } }[] }).webhooks.map((webhook) => webhook.clientConfig.caBundle)
        : [],
    );
  }

  it('sets caBundle to base64(ca.crt) in every webhook of every ValidatingWebhookConfiguration under a directory, and nothing else', () => {
    const deploymentMtime = statSync(path.join(manifests, 'deployment.yaml')).mtimeMs;

    const { code, stderr } = run(['--out', outDir, '--patch-manifests', manifests]);

    expect(code).toBe(0);
    const bundle = readFileSync(path.join(outDir, 'ca.crt')).toString('base64');
    const webhookYaml = path.join(manifests, 'webhook.yaml');
    expect(caBundles(webhookYaml)).toEqual([bundle, bundle]);
    expect(caBundles(path.join(manifests, 'nested', 'extra-webhook.yml'))).toEqual([bundle]);
    // Only the two caBundle values changed: comments, quoting, flow style and order are as they were.
    const original = readFileSync(path.join(FIXTURES, 'webhook.yaml'), 'utf8');
    expect(readFileSync(webhookYaml, 'utf8')).toBe(
      original.replace('caBundle: ""   # filled', `caBundle: "${bundle}"   # filled`).replace('caBundle: Y2hhbmdlIG1l', `caBundle: ${bundle}`),
    );
    expect(readFileSync(path.join(manifests, 'deployment.yaml'), 'utf8')).toBe(readFileSync(path.join(FIXTURES, 'deployment.yaml'), 'utf8'));
    expect(statSync(path.join(manifests, 'deployment.yaml')).mtimeMs).toBe(deploymentMtime);
    expect(stderr).toContain(`patched caBundle of 2 webhook(s) in ${webhookYaml}`);
  });

  it('patches a single file, and reports it current when run again with the same CA', () => {
    const file = path.join(manifests, 'webhook.yaml');
    run(['--out', outDir, '--patch-manifests', file]);
    const patched = readFileSync(file, 'utf8');

    const again = run(['--out', outDir, '--patch-manifests', file]);

    expect(readFileSync(file, 'utf8')).toBe(patched);
    expect(again.stderr).toContain(`already current: caBundle of 2 webhook(s) in ${file}`);
    expect(caBundles(path.join(manifests, 'nested', 'extra-webhook.yml'))).toEqual([undefined]);
  });

  it('changes no file at all when the manifests hold no ValidatingWebhookConfiguration', () => {
    const deployment = path.join(manifests, 'deployment.yaml');
    expect(() => run(['--out', outDir, '--patch-manifests', deployment])).toThrow(`${deployment}: found no ValidatingWebhookConfiguration with webhooks in the file`);
    expect(() => run(['--out', outDir, '--patch-manifests', path.join(workDir, 'nowhere')])).toThrow(/nowhere: no such file or directory/);
    expect(existsSync(outDir)).toBe(false);
  });

  it('prints base64(ca.crt) and nothing else on stdout with --print-ca-bundle', () => {
    const { stdout, stderr } = run(['--out', outDir, '--print-ca-bundle']);

    expect(stdout).toBe(`${readFileSync(path.join(outDir, 'ca.crt')).toString('base64')}\n`);
    expect(Buffer.from(stdout.trim(), 'base64').toString('utf8')).toBe(read('ca.crt'));
    expect(stderr).toContain('issued');
  });
});
