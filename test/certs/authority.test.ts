import { createPrivateKey, X509Certificate } from 'node:crypto';
import forge from 'node-forge';
import {
  AuthorityError,
  caBundle,
  createCertificateAuthority,
  issueServingCertificate,
  KEY_TYPES,
  loadCertificateAuthority,
  serviceDnsNames,
  type KeyType,
} from '../../src/certs/authority';
import { openssl, opensslText, opensslVerify } from '../helpers/openssl';

const SERVER_AUTH_OID = '1.3.6.1.5.5.7.3.1';
const DAY_MS = 24 * 60 * 60 * 1000;
const NAMES = serviceDnsNames('eviction-guard', 'eviction-guard');

function daysBetween(from: Date, to: string): number {
  return (new Date(to).getTime() - from.getTime()) / DAY_MS;
}

describe('serviceDnsNames', () => {
  it('lists <service>.<namespace>.svc first (the name the API server calls), then the longer and shorter forms', () => {
    expect(serviceDnsNames('guard', 'ops')).toEqual(['guard.ops.svc', 'guard.ops.svc.cluster.local', 'guard.ops', 'guard']);
  });
});

describe.each(KEY_TYPES)('a %s CA and serving certificate', (keyType: KeyType) => {
  const now = new Date();
  const ca = createCertificateAuthority({ keyType, days: 3650, now });
  const leaf = issueServingCertificate({ ca, dnsNames: NAMES, keyType, days: 365, now });
  const leafCert = new X509Certificate(leaf.certPem);
  const leafKey = createPrivateKey(leaf.keyPem);

  it('makes keys of the asked type: RSA-2048 or ECDSA P-256', () => {
    for (const key of [ca.key, leafKey]) {
      if (keyType === 'rsa') {
        expect(key.asymmetricKeyType).toBe('rsa');
        expect(key.asymmetricKeyDetails?.modulusLength).toBe(2048);
      } else {
        expect(key.asymmetricKeyType).toBe('ec');
        expect(key.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
      }
    }
    expect(leaf.keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
  });

  it('makes a self-signed CA: CA:TRUE (critical), keyCertSign + cRLSign (critical), valid for --ca-days', () => {
    const text = opensslText(ca.certPem);

    expect(ca.cert.ca).toBe(true);
    expect(ca.cert.verify(ca.cert.publicKey)).toBe(true);
    expect(ca.cert.checkPrivateKey(ca.key)).toBe(true);
    expect(ca.cert.subject).toMatch(/^CN=eviction-guard-ca@\d+\nO=eviction-guard$/);
    expect(ca.cert.issuer).toBe(ca.cert.subject);
    expect(text).toMatch(/X509v3 Basic Constraints: critical\s+CA:TRUE\n/);
    expect(text).toMatch(/X509v3 Key Usage: critical\s+Certificate Sign, CRL Sign\n/);
    expect(text).toContain('X509v3 Subject Key Identifier');
    expect(daysBetween(now, ca.cert.validTo)).toBeCloseTo(3650, 2);
    expect(new Date(ca.cert.validFrom).getTime()).toBeLessThan(now.getTime());
  });

  it('issues a serving certificate that verifies against the CA, with openssl too', () => {
    expect(leafCert.verify(ca.cert.publicKey)).toBe(true);
    expect(leafCert.checkIssued(ca.cert)).toBe(true);
    expect(leafCert.checkPrivateKey(leafKey)).toBe(true);
    expect(opensslVerify(ca.certPem, leaf.certPem)).toEqual({ ok: true, output: expect.stringContaining(': OK') });
  });

  it('names the Service in the SANs and the common name, for serverAuth only, not as a CA', () => {
    const text = opensslText(leaf.certPem);

    expect(leafCert.subject).toBe('CN=eviction-guard.eviction-guard.svc');
    expect(leafCert.subjectAltName).toBe(
      'DNS:eviction-guard.eviction-guard.svc, DNS:eviction-guard.eviction-guard.svc.cluster.local, DNS:eviction-guard.eviction-guard, DNS:eviction-guard',
    );
    expect(leafCert.checkHost('eviction-guard.eviction-guard.svc')).toBe('eviction-guard.eviction-guard.svc');
    expect(leafCert.keyUsage).toEqual([SERVER_AUTH_OID]);
    expect(leafCert.ca).toBe(false);
    expect(text).toMatch(/X509v3 Basic Constraints: critical\s+CA:FALSE\n/);
    // keyEncipherment only where it means something: RSA key transport. RFC 5480 leaves it out for EC keys.
    expect(text).toMatch(
      keyType === 'rsa' ? /X509v3 Key Usage: critical\s+Digital Signature, Key Encipherment\n/ : /X509v3 Key Usage: critical\s+Digital Signature\n/,
    );
    expect(text).toMatch(/X509v3 Extended Key Usage:\s+TLS Web Server Authentication\n/);
    expect(text).toMatch(new RegExp(`X509v3 Authority Key Identifier:\\s+(keyid:)?${ski(ca.certPem)}`));
    expect(text).toContain(keyType === 'rsa' ? 'Signature Algorithm: sha256WithRSAEncryption' : 'Signature Algorithm: ecdsa-with-SHA256');
  });

  it('makes the serving certificate valid from a few minutes ago for --days', () => {
    expect(daysBetween(now, leafCert.validTo)).toBeCloseTo(365, 2);
    const backdatedMinutes = (now.getTime() - new Date(leafCert.validFrom).getTime()) / 60_000;
    expect(backdatedMinutes).toBeGreaterThanOrEqual(4);
    expect(backdatedMinutes).toBeLessThanOrEqual(6);
  });

  it('encodes names as UTF8String (a PrintableString cannot hold the "@" of the CA name; Go would refuse it)', () => {
    const parsed = openssl(['asn1parse', '-in', { pem: leaf.certPem }]).output + openssl(['asn1parse', '-in', { pem: ca.certPem }]).output;
    expect(parsed).toContain('UTF8STRING        :eviction-guard-ca@');
    expect(parsed).not.toContain('PRINTABLESTRING');
  });
});

/** The DER of a certificate's issuer or subject Name, cut out with forge's ASN.1 parser. */
function nameDer(certDer: Buffer, which: 'issuer' | 'subject'): Buffer {
  const tbs = (forge.asn1.fromDer(certDer.toString('binary')).value as forge.asn1.Asn1[])[0].value as forge.asn1.Asn1[];
  // [0] version, serialNumber, signature, issuer, validity, subject
  return Buffer.from(forge.asn1.toDer(tbs[which === 'issuer' ? 3 : 5]).getBytes(), 'binary');
}

function ski(certPem: string): string {
  const match = /X509v3 Subject Key Identifier:\s+([0-9A-F:]+)/.exec(opensslText(certPem));
  if (!match) throw new Error('no subject key identifier');
  return match[1];
}

describe('issueServingCertificate', () => {
  it('signs across key types: an RSA CA issues an ECDSA certificate and an ECDSA CA an RSA one', () => {
    for (const [caType, leafType] of [
      ['rsa', 'ecdsa'],
      ['ecdsa', 'rsa'],
    ] as const) {
      const ca = createCertificateAuthority({ keyType: caType, days: 30 });
      const leaf = issueServingCertificate({ ca, dnsNames: ['a.b.svc'], keyType: leafType, days: 10 });
      expect(new X509Certificate(leaf.certPem).verify(ca.cert.publicKey)).toBe(true);
      expect(opensslVerify(ca.certPem, leaf.certPem).ok).toBe(true);
    }
  });

  it('gives every certificate a different positive 16-byte serial with no redundant leading zero byte', () => {
    const ca = createCertificateAuthority({ keyType: 'ecdsa', days: 30 });
    const serials = new Set<string>();
    // Enough draws that a first byte of 0x00 (1 in 128 with only the top bit cleared) would show up.
    for (let i = 0; i < 600; i += 1) {
      const serial = new X509Certificate(issueServingCertificate({ ca, dnsNames: ['a'], keyType: 'ecdsa', days: 1 }).certPem).serialNumber;
      // node prints the serial without leading zero bytes: 32 digits starting 0-7 means a first byte of 0x01..0x7f.
      expect(serial).toMatch(/^[0-7][0-9A-F]{31}$/);
      serials.add(serial);
    }
    expect(serials.size).toBe(600);
  });

  it('keeps the CA subject byte for byte as the issuer, whatever its encoding', () => {
    // An openssl-made CA: its names are encoded by openssl, not by this code.
    const key = openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256']).output;
    const caPem = openssl([
      'req', '-x509', '-new', '-key', { pem: key }, '-days', '30', '-subj', '/C=DE/O=Ops Team/CN=Corp Root',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    ]).output;
    const ca = loadCertificateAuthority(caPem, key);

    const leaf = issueServingCertificate({ ca, dnsNames: NAMES, keyType: 'rsa', days: 10 });

    const leafCert = new X509Certificate(leaf.certPem);
    expect(leafCert.issuer).toBe('C=DE\nO=Ops Team\nCN=Corp Root');
    expect(leafCert.raw.includes(nameDer(ca.cert.raw, 'subject'))).toBe(true);
    expect(nameDer(leafCert.raw, 'issuer')).toEqual(nameDer(ca.cert.raw, 'subject'));
    expect(opensslVerify(caPem, leaf.certPem).ok).toBe(true);
  });
});

describe('loadCertificateAuthority', () => {
  const ca = createCertificateAuthority({ keyType: 'ecdsa', days: 30 });
  const caKeyPem = ca.keyPem;

  it('reads back a CA it made', () => {
    const loaded = loadCertificateAuthority(ca.certPem, caKeyPem);
    expect(loaded.cert.fingerprint256).toBe(ca.cert.fingerprint256);
    expect(loaded.certPem).toBe(ca.certPem);
  });

  it.each([
    ['a certificate that is not PEM', () => loadCertificateAuthority('garbage', caKeyPem), /ca\.crt is not a PEM certificate/],
    ['a key that is not PEM', () => loadCertificateAuthority(ca.certPem, 'garbage'), /ca\.key is not a PEM private key/],
    [
      'a key of another CA',
      () => loadCertificateAuthority(ca.certPem, createCertificateAuthority({ keyType: 'ecdsa', days: 1 }).keyPem),
      /ca\.key is not the private key of ca\.crt/,
    ],
    [
      'a certificate that is not a CA',
      () => {
        const leaf = issueServingCertificate({ ca, dnsNames: ['x'], keyType: 'ecdsa', days: 1 });
        return loadCertificateAuthority(leaf.certPem, leaf.keyPem);
      },
      /ca\.crt is not a CA certificate/,
    ],
  ])('refuses %s with an AuthorityError saying so', (_case, load, message) => {
    expect(load).toThrow(AuthorityError);
    expect(load).toThrow(message);
  });
});

describe('caBundle', () => {
  it('is the base64 of the CA PEM, as clientConfig.caBundle wants it', () => {
    const pem = '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n';
    expect(Buffer.from(caBundle(pem), 'base64').toString('utf8')).toBe(pem);
  });
});
