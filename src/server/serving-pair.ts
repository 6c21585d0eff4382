import { createPrivateKey, X509Certificate } from 'node:crypto';

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

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
