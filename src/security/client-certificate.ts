// mTLS for /validate (--client-ca, --client-name). The listener asks every client for a certificate
// and lets the handshake finish without one, so that kubelet's probes (which have none) still reach
// /healthz and /readyz on the same port; /validate then refuses, before decoding anything, a caller
// whose certificate is missing, not signed by the client CA, or not one of the names allowed.
import { X509Certificate } from 'node:crypto';
import type { RequestHandler } from 'express';
import { isIP } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Logger } from '../audit/logger';
import { UNAUTHENTICATED, type RequestOrigin } from '../domain';
import type { CertificateRefusal, SecurityMetrics } from './metrics';

/** What the TLS handshake established about the client. */
export interface PeerCertificate {
  /** OpenSSL verified the chain against the client CA. */
  authorized: boolean;
  /** Why it did not (an OpenSSL code such as UNABLE_TO_VERIFY_LEAF_SIGNATURE). */
  authorizationError?: string;
  /** The client's leaf certificate; undefined when it sent none. */
  certificate?: X509Certificate;
}

export type ClientVerdict = { outcome: 'verified'; subject: string } | { outcome: 'refused'; reason: CertificateRefusal; message: string };

/**
 * The subject as RFC 4514 writes it (and Go's pkix.Name.String(), which kube-apiserver logs use):
 * most specific first, comma-separated. Node lists the RDNs in certificate order, one per line,
 * already escaped as RFC 2253 requires.
 */
export function subjectName(certificate: X509Certificate): string {
  return certificate.subject.split('\n').filter(Boolean).reverse().join(',');
}

/** The subject's common names (a subject may have several). */
function commonNames(certificate: X509Certificate): string[] {
  return certificate.subject
    .split('\n')
    .filter((line) => line.startsWith('CN='))
    .map((line) => line.slice('CN='.length));
}

/** `name` is the certificate's CN or one of its DNS or IP address SANs (exactly: no wildcards). */
export function certificateHasName(certificate: X509Certificate, name: string): boolean {
  if (commonNames(certificate).includes(name)) return true;
  if (certificate.checkHost(name, { subject: 'never', wildcards: false, partialWildcards: false }) !== undefined) return true;
  return isIP(name) !== 0 && certificate.checkIP(name) !== undefined;
}

/** Pure: may a caller with this handshake get a decision, given the names allowed ([]: any name)? */
export function judgeClientCertificate(peer: PeerCertificate, allowedNames: readonly string[]): ClientVerdict {
  if (peer.certificate === undefined) {
    return { outcome: 'refused', reason: 'missing', message: 'a client certificate is required (--client-ca): none was sent' };
  }
  if (!peer.authorized) {
    return { outcome: 'refused', reason: 'untrusted', message: `the client certificate is not signed by the client CA (${peer.authorizationError ?? 'not verified'})` };
  }
  if (allowedNames.length > 0 && !allowedNames.some((name) => certificateHasName(peer.certificate!, name))) {
    return { outcome: 'refused', reason: 'name', message: `the client certificate names none of the allowed clients (--client-name ${allowedNames.join(', ')})` };
  }
  return { outcome: 'verified', subject: subjectName(peer.certificate) };
}

/** The handshake's facts about the client of a TLS socket. */
export function peerCertificate(socket: TLSSocket): PeerCertificate {
  const authorizationError = socket.authorizationError === undefined || socket.authorizationError === null ? undefined : String(socket.authorizationError);
  return { authorized: socket.authorized, authorizationError, certificate: socket.getPeerX509Certificate() };
}

/** Source addresses as the socket reports them, IPv4-mapped IPv6 addresses as IPv4. */
export function sourceAddressOf(address: string | undefined): string {
  if (address === undefined) return 'unknown';
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice('::ffff:'.length) : address;
}

/** The origin of a request when callers are not authenticated (no --client-ca). */
export function unauthenticatedOrigin(remoteAddress: string | undefined): RequestOrigin {
  return { caller: UNAUTHENTICATED, authenticated: false, sourceAddress: sourceAddressOf(remoteAddress) };
}

export interface ClientCertificateOptions {
  /** --client-name values; [] accepts any certificate the client CA signed. */
  names: readonly string[];
  logger: Logger;
  metrics?: SecurityMetrics;
}

/** res.locals key under which the request's RequestOrigin is left for the route. */
export const ORIGIN_LOCAL = 'origin';

/** At most one refusal warning per interval: a stream of refused callers must not flood the log. */
const REFUSAL_LOG_INTERVAL_MS = 10_000;

/**
 * In front of /validate under --client-ca: a verified caller continues with its RequestOrigin in
 * res.locals; anyone else gets 401 (no or untrusted certificate) or 403 (a name not allowed).
 * A socket's verdict is kept with it: the handshake, and so the verdict, holds for its lifetime.
 */
export function requireClientCertificate(options: ClientCertificateOptions): RequestHandler {
  const { names, logger, metrics } = options;
  const verdicts = new WeakMap<TLSSocket, ClientVerdict>();
  let refusedSinceLog = 0;
  let lastLogMs = -Infinity;
  return (req, res, next) => {
    const socket = req.socket as TLSSocket;
    let verdict = verdicts.get(socket);
    if (verdict === undefined) {
      verdict = judgeClientCertificate(peerCertificate(socket), names);
      verdicts.set(socket, verdict);
    }
    const sourceAddress = sourceAddressOf(socket.remoteAddress);
    if (verdict.outcome === 'verified') {
      const origin: RequestOrigin = { caller: verdict.subject, authenticated: true, sourceAddress };
      res.locals[ORIGIN_LOCAL] = origin;
      next();
      return;
    }
    metrics?.countCertificateRefusal(verdict.reason);
    refusedSinceLog++;
    const now = Date.now();
    if (now - lastLogMs >= REFUSAL_LOG_INTERVAL_MS) {
      logger.warn({ reason: verdict.reason, sourceAddress, refused: refusedSinceLog }, `refused a /validate caller: ${verdict.message}`);
      lastLogMs = now;
      refusedSinceLog = 0;
    }
    res.status(verdict.reason === 'name' ? 403 : 401).json({ error: verdict.message });
  };
}
