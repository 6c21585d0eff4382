import https from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';

export interface HttpsReply {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  /** The request went over a kept-alive connection of `agent`. */
  reusedSocket?: boolean;
}

export interface HttpsCall {
  /** Default 127.0.0.1. */
  host?: string;
  port: number;
  /** The server's self-signed certificate, trusted as the only CA. */
  ca: string;
  method?: string;
  path: string;
  body?: string | Buffer;
  headers?: Record<string, string>;
  agent?: https.Agent;
  /** A TLS client certificate (and key) to present. */
  client?: { cert: string; key: string };
}

/** One request to the server under test over real HTTPS, verifying its certificate for the host (127.0.0.1). */
export function httpsCall(call: HttpsCall): Promise<HttpsReply> {
  return new Promise((resolve, reject) => {
    const request = https.request(
      {
        host: call.host ?? '127.0.0.1',
        port: call.port,
        method: call.method ?? 'GET',
        path: call.path,
        ca: call.ca,
        headers: call.headers,
        agent: call.agent ?? false,
        cert: call.client?.cert,
        key: call.client?.key,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({ status: response.statusCode ?? 0, headers: response.headers, text: Buffer.concat(chunks).toString('utf8'), reusedSocket: request.reusedSocket }),
        );
        response.on('error', reject);
      },
    );
    request.on('error', reject);
    request.end(call.body);
  });
}

export function postJson(port: number, ca: string, body: unknown, headers: Record<string, string> = { 'content-type': 'application/json' }) {
  return httpsCall({ port, ca, method: 'POST', path: '/validate', body: JSON.stringify(body), headers });
}
