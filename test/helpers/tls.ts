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
  const { privateKey: keyPem } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  const privateKey = forge.pki.privateKeyFromPem(keyPem) as forge.pki.rsa.PrivateKey;

  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.setRsaPublicKey(privateKey.n, privateKey.e);
  // A leading 0 nibble keeps the DER integer positive.
  // A positive serial whose DER integer is minimal: a leading 0x00 byte is "illegal padding" to OpenSSL 3.
  const serial = randomBytes(16);
  serial[0] = serial[0] & 0x7f || 0x01;
  cert.serialNumber = serial.toString('hex');
  const now = Date.now();
  cert.validity.notBefore = new Date(now - 60_000);
  cert.validity.notAfter = new Date(now + validDays * 86_400_000);
  const subject = [{ name: 'commonName', value: commonName }];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, keyCertSign: true },
    { name: 'extKeyUsage', serverAuth: true },
    {
      name: 'subjectAltName',
      altNames: [...dnsNames.map((value) => ({ type: 2, value })), ...ipAddresses.map((ip) => ({ type: 7, ip }))],
    },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(privateKey, forge.md.sha256.create());
  return { cert: forge.pki.certificateToPem(cert), key: keyPem };
}
