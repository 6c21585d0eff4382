// JSON writes (POST, PATCH) to the API server with the kubeconfig's credentials and a deadline.
// They go through their own keep-alive agent, apart from api.ts's read agent: a slow or failing
// write (an Event) can then never hold the sockets that a confirm read on the request path needs.
import type { KubeConfig } from '@kubernetes/client-node';
import http from 'node:http';
import https from 'node:https';
import { KeepAliveAgents } from './agents';
import { describeError } from './errors';

export const WRITE_TIMEOUT_MS = 5000;

export type WriteMethod = 'POST' | 'PATCH';

/** A failed write, naming the request and, when the server answered, its status. */
export class ApiWriteError extends Error {
  override readonly name = 'ApiWriteError';

  constructor(
    readonly method: WriteMethod,
    readonly path: string,
    readonly problem: string,
    readonly status?: number,
  ) {
    super(`${method} ${path}: ${problem}`);
  }
}

export interface WriteOptions {
  /** The body's media type; application/json for POST, a patch type for PATCH. */
  contentType?: string;
  timeoutMs?: number;
  signal?: AbortSignal;
}

// A handful of sockets: writes are queued and sent one at a time.
const writeAgents = new KeepAliveAgents(4);

/** Closes the kept-alive write connections of a kubeconfig. */
export function releaseWriteConnections(kubeConfig: KubeConfig): void {
  writeAgents.release(kubeConfig);
}

function statusProblem(status: number, body: string): string {
  try {
    const parsed = JSON.parse(body) as { reason?: unknown; message?: unknown };
    const reason = typeof parsed.reason === 'string' ? ` ${parsed.reason}` : '';
    const message = typeof parsed.message === 'string' && parsed.message !== '' ? `: ${parsed.message}` : '';
    return `HTTP ${status}${reason}${message}`;
  } catch {
    return `HTTP ${status}`;
  }
}

/** Sends a JSON body to a path of the current cluster and answers the parsed 2xx reply; rejects with an ApiWriteError. */
export async function sendJson(kubeConfig: KubeConfig, method: WriteMethod, path: string, body: unknown, options: WriteOptions = {}): Promise<unknown> {
  const timeoutMs = options.timeoutMs ?? WRITE_TIMEOUT_MS;
  const cluster = kubeConfig.getCurrentCluster();
  if (cluster === null) throw new ApiWriteError(method, path, 'the kubeconfig has no current cluster');
  const requestOptions: https.RequestOptions = {};
  try {
    await kubeConfig.applyToHTTPSOptions(requestOptions);
  } catch (error) {
    throw new ApiWriteError(method, path, `cannot authenticate: ${describeError(error)}`);
  }
  const url = new URL(cluster.server.replace(/\/+$/, '') + path);
  const isHttps = url.protocol !== 'http:';
  const payload = JSON.stringify(body);

  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, timeoutMs);
  const abortFromCaller = () => controller.abort();
  options.signal?.addEventListener('abort', abortFromCaller, { once: true });
  if (options.signal?.aborted) controller.abort();

  try {
    return await new Promise<unknown>((resolve, reject) => {
      const fail = (error: unknown) => {
        if (timedOut) reject(new ApiWriteError(method, path, `timed out after ${timeoutMs} ms`));
        else if (options.signal?.aborted) reject(new ApiWriteError(method, path, 'aborted'));
        else reject(new ApiWriteError(method, path, describeError(error)));
      };
      const request = (isHttps ? https : http).request(
        url,
        {
          ...requestOptions,
          agent: isHttps ? writeAgents.agentFor(kubeConfig, requestOptions) : undefined,
          method,
          headers: {
            ...requestOptions.headers,
            Accept: 'application/json',
            'Content-Type': options.contentType ?? 'application/json',
            'Content-Length': Buffer.byteLength(payload),
          },
          signal: controller.signal,
        },
        (response) => {
          let text = '';
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => (text += chunk));
          response.on('error', fail);
          response.on('end', () => {
            const status = response.statusCode ?? 0;
            if (status < 200 || status > 299) {
              reject(new ApiWriteError(method, path, statusProblem(status, text), status));
              return;
            }
            try {
              resolve(text === '' ? undefined : JSON.parse(text));
            } catch (error) {
              reject(new ApiWriteError(method, path, `invalid JSON in the response: ${describeError(error)}`, status));
            }
          });
        },
      );
      request.on('error', fail);
      request.end(payload);
    });
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', abortFromCaller);
  }
}
