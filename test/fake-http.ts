// What every part of the fake API server answers with: metav1.Status bodies, request bodies read
// whole, and JSON merge patches.
import type { IncomingMessage } from 'node:http';

export type Json = Record<string, unknown>;

/** A metav1.StatusCause. */
export interface StatusCause {
  type?: string;
  message?: string;
  field?: string;
}

/** metav1.StatusDetails. */
export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

/** A metav1.Status with status: Failure. An empty reason is left out, as the API server's overlapping-PDB 500 has none. */
export function statusBody(code: number, reason: string, message: string, details?: StatusDetails): string {
  return JSON.stringify({
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    ...(reason === '' ? {} : { reason }),
    ...(details === undefined ? {} : { details }),
    code,
  });
}

export const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

/** RFC 7386: objects merge recursively, null deletes, anything else replaces. */
export function mergePatch(target: Json, patch: Json): Json {
  const merged: Json = { ...target };
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete merged[key];
    else if (isObject(value) && isObject(merged[key])) merged[key] = mergePatch(merged[key] as Json, value);
    else merged[key] = value;
  }
  return merged;
}

/**
 * The patch types the fake applies. A strategic merge patch of scalar fields (a cordon's
 * spec.unschedulable, an Event's count) does what a merge patch does; lists are not merged by key.
 */
export const PATCH_TYPES = ['application/merge-patch+json', 'application/strategic-merge-patch+json'];

/** The JSON object a PATCH carries, or the Status the API server answers a patch it cannot apply with. */
export function parsePatch(contentType: string, text: string): { patch: Json } | { code: number; body: string } {
  if (!PATCH_TYPES.includes(contentType)) {
    return { code: 415, body: statusBody(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: ${PATCH_TYPES.join(', ')}`) };
  }
  let patch: unknown;
  try {
    patch = JSON.parse(text);
  } catch {
    return { code: 400, body: statusBody(400, 'BadRequest', 'the patch is not JSON') };
  }
  return isObject(patch) ? { patch } : { code: 400, body: statusBody(400, 'BadRequest', 'the patch is not a JSON object') };
}

export function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}
