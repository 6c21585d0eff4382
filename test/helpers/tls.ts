import { generateKeyPairSync, randomBytes } from 'node:crypto';
import forge from 'node-forge';

export interface TestCertificate {
  /** PEM certificate; self-signed, so it is also the CA to trust. */
  cert: string;
  /** PEM PKCS#8 private key. */
  key: string;
}

export interface TestCertificateOptions {
  commonName?: string;
  dnsNames?: string[];
  ipAddresses?: string[];
  validDays?: number;
}

/**
 * A self-signed serving certificate made at test time, so no key is ever committed. Node's
 * crypto makes the RSA key (forge's pure-JS keygen takes seconds); forge builds and signs the
 * X.509 certificate. It is marked as a CA so that clients can trust it directly as `ca`.
 */
export function makeTestCertificate(options: TestCertificateOptions = {}): TestCertificate {
  const { commonName = 'localhost', dnsNames = ['localhost'], ipAddresses = ['127.0.0.1'], validDays = 2 } = options;
  const { pem: keyPem, forgeKey: privateKey } = rsaKey();
  const cert = unsignedCertificate(privateKey, validDays);
  const subject = [{ name: 'commonName', value: commonName }];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, keyCertSign: true },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames: altNames(dnsNames, ipAddresses) },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(privateKey, forge.md.sha256.create());
  return { cert: forge.pki.certificateToPem(cert), key: keyPem };
}

export interface TestAuthority extends TestCertificate {
  commonName: string;
}

export interface TestClientCertificateOptions {
  commonName: string;
  dnsNames?: string[];
  ipAddresses?: string[];
  /** Default clientAuth, as a kube-apiserver webhook client certificate has. */
  extKeyUsage?: 'clientAuth' | 'serverAuth';
  organization?: string;
}

function rsaKey(): { pem: string; forgeKey: forge.pki.rsa.PrivateKey } {
  const { privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return { pem: privateKey, forgeKey: forge.pki.privateKeyFromPem(privateKey) as forge.pki.rsa.PrivateKey };
}

/** A certificate for the key, valid from a minute ago for `validDays`, with a random serial; subject, extensions and signature to add. */
function unsignedCertificate(key: forge.pki.rsa.PrivateKey, validDays = 2): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.setRsaPublicKey(key.n, key.e);
  // A positive serial whose DER integer is minimal: a leading 0x00 byte is "illegal padding" to OpenSSL 3.
  const serial = randomBytes(16);
  serial[0] = serial[0] & 0x7f || 0x01;
  cert.serialNumber = serial.toString('hex');
  const now = Date.now();
  cert.validity.notBefore = new Date(now - 60_000);
  cert.validity.notAfter = new Date(now + validDays * 86_400_000);
  return cert;
}

const altNames = (dnsNames: string[], ipAddresses: string[]) => [...dnsNames.map((value) => ({ type: 2, value })), ...ipAddresses.map((ip) => ({ type: 7, ip }))];

/** A CA for client certificates (no extKeyUsage, as CAs usually have none), made at test time. */
export function makeTestAuthority(commonName = 'test-client-ca'): TestAuthority {
  const key = rsaKey();
  const cert = unsignedCertificate(key.forgeKey);
  const subject = [{ name: 'commonName', value: commonName }];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([{ name: 'basicConstraints', cA: true, critical: true }, { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true }, { name: 'subjectKeyIdentifier' }]);
  cert.sign(key.forgeKey, forge.md.sha256.create());
  return { cert: forge.pki.certificateToPem(cert), key: key.pem, commonName };
}

/** A client certificate signed by `authority`. */
export function issueTestClientCertificate(authority: TestAuthority, options: TestClientCertificateOptions): TestCertificate {
  const key = rsaKey();
  const caCert = forge.pki.certificateFromPem(authority.cert);
  const caKey = forge.pki.privateKeyFromPem(authority.key);
  const cert = unsignedCertificate(key.forgeKey);
  cert.setSubject([
    ...(options.organization === undefined ? [] : [{ name: 'organizationName', value: options.organization }]),
    { name: 'commonName', value: options.commonName },
  ]);
  cert.setIssuer(caCert.subject.attributes);
  const sans = altNames(options.dnsNames ?? [], options.ipAddresses ?? []);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', [options.extKeyUsage ?? 'clientAuth']: true },
    ...(sans.length > 0 ? [{ name: 'subjectAltName', altNames: sans }] : []),
  ]);
  cert.sign(caKey, forge.md.sha256.create());
  return { cert: forge.pki.certificateToPem(cert), key: key.pem };
}
