import { createPrivateKey, generateKeyPairSync, randomBytes, X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';
import forge from 'node-forge';
import { writeFileAtomically } from './files';

export interface SelfSignedPair {
  certPath: string;
  keyPath: string;
  /** False when an existing valid pair was reused. */
  generated: boolean;
}

const CERT_FILE = 'tls.crt';
const KEY_FILE = 'tls.key';
const VALIDITY_DAYS = 365;
// A pair this close to expiry is replaced, so a server started from it does not expire while running.
const MIN_REMAINING_DAYS = 30;
// Tolerates a client clock slightly behind ours.
const BACKDATE_MS = 5 * 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * A self-signed serving pair for `serve` without --tls-cert/--tls-key: reuses dir/tls.crt and
 * dir/tls.key when they match, cover localhost, 127.0.0.1 and hostnames, and stay valid for a
 * while; otherwise generates a new pair (RSA-2048, serverAuth, one year). The key is written 0600.
 */
export function ensureSelfSignedPair(dir: string, hostnames: readonly string[]): SelfSignedPair {
  const certPath = path.join(dir, CERT_FILE);
  const keyPath = path.join(dir, KEY_FILE);
  const names = [...new Set(['localhost', '127.0.0.1', ...hostnames.filter((name) => name !== '')])];
  if (isReusablePair(certPath, keyPath, names, new Date())) return { certPath, keyPath, generated: false };

  const { certPem, keyPem } = generateSelfSignedPair(names, new Date());
  try {
    mkdirSync(dir, { recursive: true });
    // Key first: a crash between the two writes leaves a mismatched pair, which the next start replaces.
    writeFileAtomically(keyPath, keyPem, 0o600);
    writeFileAtomically(certPath, certPem, 0o644);
  } catch (error) {
    throw new Error(`could not write a self-signed serving pair into ${dir}: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
    });
  }
  return { certPath, keyPath, generated: true };
}

function isReusablePair(certPath: string, keyPath: string, names: readonly string[], now: Date): boolean {
  if (!existsSync(certPath) || !existsSync(keyPath)) return false;
  try {
    const cert = new X509Certificate(readFileSync(certPath));
    const key = createPrivateKey(readFileSync(keyPath));
    const remainingMs = new Date(cert.validTo).getTime() - now.getTime();
    return (
      new Date(cert.validFrom).getTime() <= now.getTime() &&
      remainingMs > MIN_REMAINING_DAYS * DAY_MS &&
      cert.checkPrivateKey(key) &&
      names.every((name) => (isIP(name) ? cert.checkIP(name) : cert.checkHost(name)) !== undefined)
    );
  } catch {
    // Unreadable or unparsable files are replaced, not reported: the pair is ours to regenerate.
    return false;
  }
}

function generateSelfSignedPair(names: readonly string[], now: Date): { certPem: string; keyPem: string } {
  // Node's native RSA generation takes a fraction of a second; forge's pure-JS one takes seconds.
  const { privateKey: keyPem } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  const privateKey = forge.pki.privateKeyFromPem(keyPem);

  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.setRsaPublicKey(privateKey.n, privateKey.e);
  // 16 random bytes with the top bit cleared: a positive serial, as RFC 5280 requires.
  const serial = randomBytes(16);
  // A leading 0x00 byte would make the DER integer non-minimal, which Go's x509 parser rejects.
  serial[0] = serial[0] & 0x7f || 0x01;
  cert.serialNumber = serial.toString('hex');
  cert.validity.notBefore = new Date(now.getTime() - BACKDATE_MS);
  cert.validity.notAfter = new Date(now.getTime() + VALIDITY_DAYS * DAY_MS);

  const subject = [
    { name: 'commonName', value: names.find((name) => isIP(name) === 0 && name !== 'localhost') ?? 'localhost' },
    { name: 'organizationName', value: 'eviction-guard self-signed' },
  ];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    {
      name: 'subjectAltName',
      altNames: names.map((name) => (isIP(name) ? { type: 7, ip: name } : { type: 2, value: name })),
    },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(privateKey, forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem };
}
