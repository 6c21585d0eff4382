/** The message of anything thrown; checks the shape rather than `instanceof`, which fails across realms (jest's vm, workers). */
export function describeError(error: unknown): string {
  if (typeof error === 'object' && error !== null && typeof (error as { message?: unknown }).message === 'string') {
    return (error as { message: string }).message;
  }
  return String(error);
}
