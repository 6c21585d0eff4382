// Raw JSON reads from the API server. The typed client's ObjectSerializer builds full model
// objects, which is slow for 100k pods and wasted on fields the index drops; parsing the JSON
// and trimming it at once keeps the initial sync fast and its garbage short-lived.
import type { KubeConfig } from '@kubernetes/client-node';
import http from 'node:http';
import https from 'node:https';
import { KeepAliveAgents } from './agents';
import { describeError } from './errors';

/** No API call may take longer: the API server gives the whole webhook call 5 s. */
export const API_TIMEOUT_MS = 2000;

/** A failed API read, naming the request and, when the server answered, its status. */
export class ApiError extends Error {
  override readonly name = 'ApiError';

  constructor(
    readonly path: string,
    readonly problem: string,
    readonly status?: number,
    readonly reason?: string,
  ) {
    super(`GET ${path}: ${problem}`);
  }
}

export interface GetOptions {
  timeoutMs?: number;
  /** Aborts the request early, e.g. when the view stops. */
  signal?: AbortSignal;
}

function statusProblem(status: number, body: string): { problem: string; reason?: string } {
  try {
    const parsed = JSON.parse(body) as { reason?: unknown; message?: unknown };
    const reason = typeof parsed.reason === 'string' ? parsed.reason : undefined;
    const message = typeof parsed.message === 'string' ? parsed.message : '';
    return { problem: `HTTP ${status}${reason ? ` ${reason}` : ''}${message ? `: ${message}` : ''}`, reason };
  } catch {
    return { problem: `HTTP ${status}` };
  }
}

const readAgents = new KeepAliveAgents(32);

/** Closes the kept-alive connections of a kubeconfig, when its cluster view stops. */
export function releaseConnections(kubeConfig: KubeConfig): void {
  readAgents.release(kubeConfig);
}

/** GET a path of the current cluster and parse the JSON answer; rejects with an ApiError. */
export async function getJson(kubeConfig: KubeConfig, path: string, options: GetOptions = {}): Promise<unknown> {
  const body = await getText(kubeConfig, path, options);
  try {
    return JSON.parse(body);
  } catch (error) {
    throw new ApiError(path, `invalid JSON in the response: ${describeError(error)}`);
  }
}

/** GET a path of the current cluster and answer the body of a 2xx response; rejects with an ApiError. */
export async function getText(kubeConfig: KubeConfig, path: string, options: GetOptions = {}): Promise<string> {
  const timeoutMs = Math.min(options.timeoutMs ?? API_TIMEOUT_MS, API_TIMEOUT_MS);
  const cluster = kubeConfig.getCurrentCluster();
  if (cluster === null) throw new ApiError(path, 'the kubeconfig has no current cluster');
  const requestOptions: https.RequestOptions = {};
  try {
    await kubeConfig.applyToHTTPSOptions(requestOptions);
  } catch (error) {
    throw new ApiError(path, `cannot authenticate: ${describeError(error)}`);
  }
  const url = new URL(cluster.server.replace(/\/+$/, '') + path);
  const isHttps = url.protocol !== 'http:';
  const transport = isHttps ? https : http;
  const agent = isHttps ? readAgents.agentFor(kubeConfig, requestOptions) : undefined;

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
    return await new Promise<string>((resolve, reject) => {
      const fail = (error: unknown) => {
        if (timedOut) reject(new ApiError(path, `timed out after ${timeoutMs} ms`));
        else if (options.signal?.aborted) reject(new ApiError(path, 'aborted: the cluster view is stopping'));
        else reject(new ApiError(path, describeError(error)));
      };
      const request = transport.request(
        url,
        {
          ...requestOptions,
          agent,
          method: 'GET',
          headers: { ...requestOptions.headers, Accept: 'application/json' },
          signal: controller.signal,
        },
        (response) => {
          // Decoding as it arrives keeps a page out of Buffer chunks and their concatenated copy.
          let body = '';
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => (body += chunk));
          response.on('error', fail);
          response.on('end', () => {
            const status = response.statusCode ?? 0;
            if (status >= 200 && status <= 299) {
              resolve(body);
              return;
            }
            const { problem, reason } = statusProblem(status, body);
            reject(new ApiError(path, problem, status, reason));
          });
        },
      );
      request.on('error', fail);
      request.end();
    });
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', abortFromCaller);
  }
}
