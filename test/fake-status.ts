// What the fake API server's resources share: the metav1.Status body of an error answer.

/** A metav1.Status failure, as the API server answers an error. */
export function statusBody(code: number, reason: string, message: string, details?: object): string {
  return JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, details, code });
}

export const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
