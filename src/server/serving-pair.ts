import { createPrivateKey, X509Certificate } from 'node:crypto';
import { subjectName } from '../security/client-certificate';

/** What is known about the serving certificate in use: enough for logs and an expiry metric. */
export interface ServingCertificate {
  subject: string;
  serialNumber: string;
  notBefore: Date;
  notAfter: Date;
  /** SHA-256 of the DER certificate, colon-separated upper-case hex (as tls getPeerCertificate() reports it). */
  fingerprint256: string;
}

export type ServingPairProblem = 'unreadable' | 'mismatch' | 'expired' | 'not-yet-valid';

/** A serving pair that must not be used. The message never contains key material. */
export class ServingPairError extends Error {
  constructor(
    message: string,
    readonly problem: ServingPairProblem,
    /** For not-yet-valid: when the certificate becomes valid. */
    readonly validFrom?: Date,
  ) {
    super(message);
    this.name = 'ServingPairError';
  }
}

export function describeCertificate(cert: X509Certificate): ServingCertificate {
  return {
    subject: cert.subject,
    serialNumber: cert.serialNumber,
    notBefore: new Date(cert.validFrom),
    notAfter: new Date(cert.validTo),
    fingerprint256: cert.fingerprint256,
  };
}

/**
 * Checks a PEM serving pair before it is used: the (first) certificate parses, the key parses and
 * belongs to it, and the certificate is valid now. Throws a ServingPairError saying which check failed.
 */
export function inspectServingPair(certPem: string | Buffer, keyPem: string | Buffer, now = new Date()): ServingCertificate {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch (error) {
    throw new ServingPairError(`the certificate is not a PEM certificate (${message(error)})`, 'unreadable');
  }
  let matches: boolean;
  try {
    matches = cert.checkPrivateKey(createPrivateKey(keyPem));
  } catch (error) {
    // createPrivateKey's errors name the failing decoder, never the key's contents.
    throw new ServingPairError(`the key is not a PEM private key (${message(error)})`, 'unreadable');
  }
  const info = describeCertificate(cert);
  if (!matches) throw new ServingPairError(`the key does not belong to the certificate (${info.subject}, SHA-256 ${info.fingerprint256})`, 'mismatch');
  if (info.notAfter.getTime() <= now.getTime()) {
    throw new ServingPairError(`the certificate expired at ${info.notAfter.toISOString()}`, 'expired');
  }
  if (info.notBefore.getTime() > now.getTime()) {
    throw new ServingPairError(`the certificate is not valid before ${info.notBefore.toISOString()}`, 'not-yet-valid', info.notBefore);
  }
  return info;
}

/** The certificates of a client CA file (--client-ca), as logged when it is loaded. */
export interface ClientCaBundle {
  certificates: { subject: string; notAfter: Date; fingerprint256: string }[];
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g;

/**
 * Checks a PEM bundle of CA certificates before clients are verified against it: at least one
 * certificate, and every one parses. Throws a ServingPairError ('unreadable') otherwise, so that a
 * half-written file is read again and a broken one never replaces the CA in use.
 */
export function inspectClientCa(pem: string | Buffer): ClientCaBundle {
  const text = typeof pem === 'string' ? pem : pem.toString('utf8');
  const blocks = text.match(PEM_CERTIFICATE) ?? [];
  if (blocks.length === 0) throw new ServingPairError('the client CA file holds no PEM certificate', 'unreadable');
  const certificates = blocks.map((block, index) => {
    try {
      const cert = new X509Certificate(block);
      return { subject: subjectName(cert), notAfter: new Date(cert.validTo), fingerprint256: cert.fingerprint256 };
    } catch (error) {
      throw new ServingPairError(`certificate ${index + 1} of the client CA file does not parse (${message(error)})`, 'unreadable');
    }
  });
  return { certificates };
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
