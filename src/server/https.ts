import { X509Certificate } from 'node:crypto';
import https from 'node:https';
import type { RequestListener, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SecureContextOptions } from 'node:tls';
import type { TLSSocket } from 'node:tls';
import { describeCertificate, inspectClientCa, inspectServingPair, type ServingCertificate } from './serving-pair';

export interface HttpsServerOptions {
  app: RequestListener;
  /** 0 picks a free port; the handle reports the bound one. */
  port: number;
  host?: string;
  /** PEM serving certificate (chain) and private key. */
  cert: string | Buffer;
  key: string | Buffer;
  /**
   * PEM CA certificates (--client-ca): every client is asked for a certificate, verified against
   * them. The handshake still completes without one, so routes decide (security/client-certificate.ts).
   */
  clientCa?: string | Buffer;
}

export interface ServingPair {
  cert: string | Buffer;
  key: string | Buffer;
  /** A new client CA bundle; undefined keeps the current one. Ignored by a server started without one. */
  clientCa?: string | Buffer;
}

export interface HttpsServerHandle {
  port: number;
  /** The listening server. */
  server: https.Server;
  /**
   * Switches to a new serving pair after checking it (see inspectServingPair: parses, key matches,
   * valid now); throws a ServingPairError and keeps the current pair otherwise. Only handshakes
   * that start afterwards use the new pair: open connections keep theirs. A new client CA (checked
   * by inspectClientCa) verifies new handshakes; connections verified against the previous one are
   * closed once idle, or after the request they carry.
   */
  setServingPair(pair: ServingPair): ServingCertificate;
  /** The certificate new connections are served, e.g. for its expiry. */
  certificate(): ServingCertificate;
  /**
   * Stops accepting connections, lets in-flight requests finish, closes keep-alive connections as
   * they go idle, and destroys whatever is still open after graceMs. Resolves once all are closed.
   */
  close(graceMs: number): Promise<void>;
}

// The API server gives up on a webhook call after timeoutSeconds (at most 30), so nobody waits for
// a request still incomplete by then; slow senders are cut off instead of holding sockets.
const HEADERS_TIMEOUT_MS = 10_000;
const REQUEST_TIMEOUT_MS = 30_000;
// Longer than the API server's idle timeout for webhook connections (Go's 90 s IdleConnTimeout,
// set by apimachinery's SetTransportDefaults), so the client closes idle connections first and a
// POST never races the server closing the connection under it.
const KEEP_ALIVE_TIMEOUT_MS = 95_000;

// Every TLS option the server uses besides the pair: setSecureContext() replaces the whole context,
// so a rotated pair must be installed with the same options.
const TLS_OPTIONS: SecureContextOptions = { minVersion: 'TLSv1.2' };

export async function startHttpsServer(options: HttpsServerOptions): Promise<HttpsServerHandle> {
  const requestsClientCertificates = options.clientCa !== undefined;
  if (requestsClientCertificates) inspectClientCa(options.clientCa!);
  let clientCa = options.clientCa;
  const server = https.createServer({
    ...TLS_OPTIONS,
    cert: options.cert,
    key: options.key,
    ...(requestsClientCertificates ? { ca: clientCa, requestCert: true, rejectUnauthorized: false } : {}),
    headersTimeout: HEADERS_TIMEOUT_MS,
    requestTimeout: REQUEST_TIMEOUT_MS,
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
  });

  // Registered before the app, so a response is tracked before the app can finish it.
  const inFlight = new Set<ServerResponse>();
  let closing: Promise<void> | undefined;
  // Which client CA verified each connection: one verified against a replaced CA serves its
  // current request and closes, so that its client handshakes again under the new CA.
  let clientCaGeneration = 0;
  const verifiedUnder = new WeakMap<TLSSocket, number>();
  if (requestsClientCertificates) server.on('secureConnection', (socket: TLSSocket) => verifiedUnder.set(socket, clientCaGeneration));
  server.on('request', (req, res: ServerResponse) => {
    inFlight.add(res);
    if (closing) res.shouldKeepAlive = false;
    if (requestsClientCertificates && verifiedUnder.get(req.socket as TLSSocket) !== clientCaGeneration) res.shouldKeepAlive = false;
    res.on('close', () => {
      inFlight.delete(res);
      // A response whose headers went out before close() began still left its connection keep-alive.
      if (closing) server.closeIdleConnections();
    });
  });
  server.on('request', options.app);

  // createServer() has accepted the pair, so its certificate parses.
  let current = describeCertificate(new X509Certificate(options.cert));
  const setServingPair = (pair: ServingPair): ServingCertificate => {
    const next = inspectServingPair(pair.cert, pair.key);
    const nextClientCa = requestsClientCertificates ? (pair.clientCa ?? clientCa) : undefined;
    const clientCaChanged = nextClientCa !== undefined && nextClientCa !== clientCa && !Buffer.from(nextClientCa).equals(Buffer.from(clientCa!));
    if (clientCaChanged) inspectClientCa(nextClientCa);
    server.setSecureContext({ ...TLS_OPTIONS, cert: pair.cert, key: pair.key, ...(nextClientCa === undefined ? {} : { ca: nextClientCa }) });
    current = next;
    if (clientCaChanged) {
      clientCa = nextClientCa;
      clientCaGeneration++;
      server.closeIdleConnections();
    }
    return next;
  };

  const close = (graceMs: number): Promise<void> => {
    closing ??= new Promise<void>((resolve) => {
      const forceTimer = setTimeout(() => server.closeAllConnections(), graceMs);
      // Stops listening and (Node >= 19) closes idle keep-alive connections; calls back once all are closed.
      server.close(() => {
        clearTimeout(forceTimer);
        resolve();
      });
      // Answers not yet sent say "Connection: close", so their connections end with them.
      for (const res of inFlight) res.shouldKeepAlive = false;
    });
    return closing;
  };

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve({ port: (server.address() as AddressInfo).port, server, setServingPair, certificate: () => current, close });
    });
  });
}
