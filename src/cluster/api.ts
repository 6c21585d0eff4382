// Raw JSON reads from the API server. The typed client's ObjectSerializer builds full model
// objects, which is slow for 100k pods and wasted on fields the index drops; parsing the JSON
// and trimming it at once keeps the initial sync fast and its garbage short-lived.
import type { KubeConfig } from '@kubernetes/client-node';
import http from 'node:http';
import https from 'node:https';
import { KeepAliveAgents } from './agents';
import { describeError } from './errors';
import { ListPageReader, type ListPage } from './list-page';

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

/** One request to the current cluster, with the kubeconfig's credentials, an agent and a deadline. */
export interface ClusterExchange {
  method: string;
  path: string;
  body?: string;
  contentType?: string;
  timeoutMs: number;
  /** Aborts the request early, e.g. when the view stops. */
  signal?: AbortSignal;
  agents: KeepAliveAgents;
  /**
   * Takes the body of a 2xx answer as it arrives, instead of the reply's text (which is then
   * empty); what it throws fails the exchange.
   */
  onBody?: (chunk: string) => void;
}

/**
 * Sends one request and answers its status and body, whatever the status. Rejects with an Error
 * saying what went wrong (no cluster, authentication, timeout, abort, network) for the caller to
 * wrap with the request it made.
 */
export async function exchange(kubeConfig: KubeConfig, call: ClusterExchange): Promise<{ status: number; text: string }> {
  const cluster = kubeConfig.getCurrentCluster();
  if (cluster === null) throw new Error('the kubeconfig has no current cluster');
  const requestOptions: https.RequestOptions = {};
  try {
    await kubeConfig.applyToHTTPSOptions(requestOptions);
  } catch (error) {
    throw new Error(`cannot authenticate: ${describeError(error)}`);
  }
  const url = new URL(cluster.server.replace(/\/+$/, '') + call.path);
  const isHttps = url.protocol !== 'http:';

  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, call.timeoutMs);
  const abortFromCaller = () => controller.abort();
  call.signal?.addEventListener('abort', abortFromCaller, { once: true });
  if (call.signal?.aborted) controller.abort();

  try {
    return await new Promise((resolve, reject) => {
      const fail = (error: unknown) => {
        if (timedOut) reject(new Error(`timed out after ${call.timeoutMs} ms`));
        else if (call.signal?.aborted) reject(new Error('aborted: the client is stopping'));
        else reject(new Error(describeError(error)));
      };
      const headers: http.OutgoingHttpHeaders = { ...(requestOptions.headers as http.OutgoingHttpHeaders | undefined), Accept: 'application/json' };
      if (call.body !== undefined) {
        headers['Content-Type'] = call.contentType ?? 'application/json';
        headers['Content-Length'] = Buffer.byteLength(call.body);
      }
      const request = (isHttps ? https : http).request(
        url,
        {
          ...requestOptions,
          agent: isHttps ? call.agents.agentFor(kubeConfig, requestOptions) : undefined,
          method: call.method,
          headers,
          signal: controller.signal,
        },
        (response) => {
          // Decoding as it arrives keeps a page out of Buffer chunks and their concatenated copy.
          let text = '';
          const status = response.statusCode ?? 0;
          const onBody = status >= 200 && status <= 299 ? call.onBody : undefined;
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => {
            if (onBody === undefined) {
              text += chunk;
              return;
            }
            try {
              onBody(chunk);
            } catch (error) {
              // Destroyed, the response emits no more data: nothing more reaches onBody.
              request.destroy();
              reject(error instanceof Error ? error : new Error(String(error)));
            }
          });
          response.on('error', fail);
          response.on('end', () => resolve({ status, text }));
        },
      );
      request.on('error', fail);
      request.end(call.body);
    });
  } finally {
    clearTimeout(timer);
    call.signal?.removeEventListener('abort', abortFromCaller);
  }
}

/** A Status body's reason and message, for errors. */
export function statusProblem(status: number, body: string): { problem: string; reason?: string } {
  try {
    const parsed = JSON.parse(body) as { reason?: unknown; message?: unknown };
    const reason = typeof parsed.reason === 'string' ? parsed.reason : undefined;
    const message = typeof parsed.message === 'string' ? parsed.message : '';
    return { problem: `HTTP ${status}${reason ? ` ${reason}` : ''}${message ? `: ${message}` : ''}`, reason };
  } catch {
    return { problem: `HTTP ${status}` };
  }
}

/** GET a path of the current cluster; a 2xx answer, or an ApiError. `onBody` as in ClusterExchange. */
async function get(kubeConfig: KubeConfig, path: string, options: GetOptions, onBody?: (chunk: string) => void): Promise<{ status: number; text: string }> {
  const timeoutMs = Math.min(options.timeoutMs ?? API_TIMEOUT_MS, API_TIMEOUT_MS);
  let reply: { status: number; text: string };
  try {
    reply = await exchange(kubeConfig, { method: 'GET', path, timeoutMs, signal: options.signal, agents: readAgents, onBody });
  } catch (error) {
    throw new ApiError(path, describeError(error));
  }
  if (reply.status >= 200 && reply.status <= 299) return reply;
  const { problem, reason } = statusProblem(reply.status, reply.text);
  throw new ApiError(path, problem, reply.status, reason);
}

/** GET a path of the current cluster and answer the body of a 2xx response; rejects with an ApiError. */
export async function getText(kubeConfig: KubeConfig, path: string, options: GetOptions = {}): Promise<string> {
  return (await get(kubeConfig, path, options)).text;
}

/**
 * GET a page of a list, handing each item's JSON text to `onItem` as the page arrives (see
 * list-page.ts), and answer its other members; rejects with an ApiError, also when `onItem` throws.
 */
export async function readListPage(kubeConfig: KubeConfig, path: string, onItem: (item: string) => void, options: GetOptions = {}): Promise<ListPage> {
  const reader = new ListPageReader(onItem);
  await get(kubeConfig, path, options, (chunk) => reader.push(chunk));
  try {
    return reader.end();
  } catch (error) {
    throw new ApiError(path, describeError(error));
  }
}
