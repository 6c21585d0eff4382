import { parseArgs, type ParseArgsConfig } from 'node:util';

/** A command line that cannot be understood: printed with the command's usage, exit code 2. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly usage: string,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** node:util parseArgs, with its errors turned into UsageErrors that carry the command's usage. */
export function parseFlags<T extends Options>(argv: string[], options: T, usage: string, allowPositionals = false) {
  try {
    return parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals, strict: true });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error), usage);
  }
}

/** One of `choices`, or `fallback` when the flag is absent. */
export function parseChoice<T extends string>(value: unknown, fallback: T, choices: readonly T[], flag: string, usage: string): T {
  const chosen = (value ?? fallback) as string;
  if (!(choices as readonly string[]).includes(chosen)) throw new UsageError(`${flag} must be one of ${choices.join(', ')}, got "${chosen}"`, usage);
  return chosen as T;
}

/** A number of seconds above 0, in milliseconds. */
export function parseSeconds(value: unknown, fallbackSeconds: number, flag: string, usage: string): number {
  const seconds = Number(value ?? fallbackSeconds);
  if (!Number.isFinite(seconds) || seconds <= 0) throw new UsageError(`${flag} must be a number of seconds above 0, got "${String(value)}"`, usage);
  return seconds * 1000;
}

export function parsePort(value: string | undefined, fallback: number, flag: string, usage: string): number {
  if (value === undefined) return fallback;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new UsageError(`${flag} must be a port number from 0 to 65535, got "${value}"`, usage);
  }
  return port;
}

/** Exit codes shared by the operator commands (check, lint); documented in docs/cli.md ("Exit codes"). */
export const EXIT = {
  ok: 0,
  /** check: the drain would not complete; lint: the worst finding is a warning. */
  problem: 1,
  usage: 2,
  /** lint: the worst finding is an error. */
  lintError: 3,
  /** The cluster, snapshot or files could not be read: no answer. */
  unreadable: 4,
} as const;
