import { X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ensureSelfSignedPair } from '../../src/certs/selfsigned';

const SERVER_AUTH_OID = '1.3.6.1.5.5.7.3.1';
const DAY_MS = 24 * 60 * 60 * 1000;

let workDir: string;

beforeEach(() => {
  workDir = mkdtempSync(path.join(os.tmpdir(), 'eviction-guard-certs-'));
});

afterEach(() => {
  jest.useRealTimers();
  rmSync(workDir, { recursive: true, force: true });
});

function certificateAt(certPath: string): X509Certificate {
  return new X509Certificate(readFileSync(certPath));
}

describe('ensureSelfSignedPair', () => {
  it('generates tls.crt and a 0600 tls.key into a directory it creates', () => {
    const dir = path.join(workDir, 'nested', 'certs');

    const pair = ensureSelfSignedPair(dir, ['eviction-guard.eviction-guard.svc']);

    expect(pair).toEqual({ certPath: path.join(dir, 'tls.crt'), keyPath: path.join(dir, 'tls.key'), generated: true });
    expect(statSync(pair.keyPath).mode & 0o777).toBe(0o600);
  });

  it('issues an RSA-2048 serverAuth certificate for localhost, 127.0.0.1 and the given names, valid for a year', () => {
    const pair = ensureSelfSignedPair(workDir, ['eviction-guard.eviction-guard.svc', '10.96.0.15']);
    const cert = certificateAt(pair.certPath);
    const key = createPrivateKey(readFileSync(pair.keyPath));

    expect(cert.subjectAltName).toBe('DNS:localhost, IP Address:127.0.0.1, DNS:eviction-guard.eviction-guard.svc, IP Address:10.96.0.15');
    expect(cert.keyUsage).toEqual([SERVER_AUTH_OID]);
    expect(cert.ca).toBe(false);
    expect(cert.checkPrivateKey(key)).toBe(true);
    expect(key.asymmetricKeyDetails?.modulusLength).toBe(2048);
    const validForDays = (new Date(cert.validTo).getTime() - Date.now()) / DAY_MS;
    expect(validForDays).toBeGreaterThan(364);
    expect(validForDays).toBeLessThan(366);
    expect(new Date(cert.validFrom).getTime()).toBeLessThanOrEqual(Date.now());
  });

  it('reuses an existing valid pair that covers the names', () => {
    const first = ensureSelfSignedPair(workDir, ['eviction-guard.eviction-guard.svc']);
    const certPem = readFileSync(first.certPath, 'utf8');

    const second = ensureSelfSignedPair(workDir, ['eviction-guard.eviction-guard.svc']);

    expect(second.generated).toBe(false);
    expect(readFileSync(second.certPath, 'utf8')).toBe(certPem);
  });

  it('replaces a pair that does not cover a requested name', () => {
    const first = ensureSelfSignedPair(workDir, ['old-host']);
    const certPem = readFileSync(first.certPath, 'utf8');

    const second = ensureSelfSignedPair(workDir, ['new-host']);

    expect(second.generated).toBe(true);
    expect(readFileSync(second.certPath, 'utf8')).not.toBe(certPem);
    expect(certificateAt(second.certPath).checkHost('new-host')).toBe('new-host');
  });

  it('replaces a pair that expires within 30 days', () => {
    ensureSelfSignedPair(workDir, []);
    jest.useFakeTimers({ now: Date.now() + 340 * DAY_MS });

    expect(ensureSelfSignedPair(workDir, []).generated).toBe(true);
  });

  it('replaces a pair whose key does not match the certificate', () => {
    const pair = ensureSelfSignedPair(workDir, []);
    const otherDir = path.join(workDir, 'other');
    mkdirSync(otherDir);
    writeFileSync(pair.keyPath, readFileSync(ensureSelfSignedPair(otherDir, []).keyPath));

    const again = ensureSelfSignedPair(workDir, []);

    expect(again.generated).toBe(true);
    expect(certificateAt(again.certPath).checkPrivateKey(createPrivateKey(readFileSync(again.keyPath)))).toBe(true);
  });

  it('replaces unreadable files', () => {
    writeFileSync(path.join(workDir, 'tls.crt'), 'not a certificate');
    writeFileSync(path.join(workDir, 'tls.key'), 'not a key');

    expect(ensureSelfSignedPair(workDir, []).generated).toBe(true);
    expect(() => certificateAt(path.join(workDir, 'tls.crt'))).not.toThrow();
  });

  it('names the directory when it cannot write the pair', () => {
    const blocker = path.join(workDir, 'a-file');
    writeFileSync(blocker, '');

    expect(() => ensureSelfSignedPair(path.join(blocker, 'certs'), [])).toThrow(`could not write a self-signed serving pair into ${path.join(blocker, 'certs')}`);
  });
});
