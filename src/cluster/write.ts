// JSON writes (POST, PATCH) to the API server with the kubeconfig's credentials and a deadline.
// They go through their own keep-alive agent, apart from api.ts's read agent: a slow or failing
// write (an Event) can then never hold the sockets that a confirm read on the request path needs.
import type { KubeConfig } from '@kubernetes/client-node';
import { KeepAliveAgents } from './agents';
import { exchange, statusProblem } from './api';
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
  /** Connections to send through instead of the Event writes' pool (e.g. access reviews on a request path). */
  agents?: KeepAliveAgents;
}

// A handful of sockets: writes are queued and sent one at a time.
const writeAgents = new KeepAliveAgents(4);

/** Closes the kept-alive write connections of a kubeconfig. */
export function releaseWriteConnections(kubeConfig: KubeConfig): void {
  writeAgents.release(kubeConfig);
}

/** Sends a JSON body to a path of the current cluster and answers the parsed 2xx reply; rejects with an ApiWriteError. */
export async function sendJson(kubeConfig: KubeConfig, method: WriteMethod, path: string, body: unknown, options: WriteOptions = {}): Promise<unknown> {
  const timeoutMs = options.timeoutMs ?? WRITE_TIMEOUT_MS;
  let reply: { status: number; text: string };
  try {
    reply = await exchange(kubeConfig, {
      method,
      path,
      body: JSON.stringify(body),
      contentType: options.contentType,
      timeoutMs,
      signal: options.signal,
      agents: options.agents ?? writeAgents,
    });
  } catch (error) {
    throw new ApiWriteError(method, path, describeError(error));
  }
  if (reply.status < 200 || reply.status > 299) throw new ApiWriteError(method, path, statusProblem(reply.status, reply.text).problem, reply.status);
  try {
    return reply.text === '' ? undefined : JSON.parse(reply.text);
  } catch (error) {
    throw new ApiWriteError(method, path, `invalid JSON in the response: ${describeError(error)}`, reply.status);
  }
}
