import pino, { type Logger } from 'pino';

export type { Logger };

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * Lines queued behind a write in flight are joined into one string of at most this size, and each
 * write takes one such string. sonic-boom measures the joined string's byte length at every line,
 * which copies it whole: joining 16 KB batches (its default) copies about 8 KB per audit line (about
 * 600 bytes), the largest allocation of a decision. 4 KB batches copy about 2 KB per line and still
 * write some 7 lines at a time, so a busy webhook's log keeps up with its decisions.
 */
const COALESCE_BYTES = 4096;

let formattedMs = NaN;
let formatted = '';

/**
 * The time now in ISO 8601 (UTC, milliseconds), formatted once per millisecond: a busy webhook
 * writes several decisions in the same millisecond, each with an audit line and an audit entry.
 */
export function isoNow(): string {
  const now = Date.now();
  if (now !== formattedMs) {
    formattedMs = now;
    formatted = new Date(now).toISOString();
  }
  return formatted;
}

/** pino's stdTimeFunctions.isoTime, through isoNow. */
const isoTime = () => `,"time":"${isoNow()}"`;

/**
 * The process logger: JSON lines on stdout. Paths that could carry credentials are redacted as a
 * second line of defence; the code never logs tokens, request headers or full objects in the first place.
 */
export function createLogger(level: LogLevel, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { app: 'eviction-guard' },
      timestamp: isoTime,
      redact: {
        paths: ['*.token', '*.password', '*.authorization', '*.headers.authorization', '*.extra'],
        censor: '[redacted]',
      },
    },
    // Asynchronous writes to stdout: a line per decision must not block the request path on a
    // slow log pipe. Lines are written as soon as the previous write completes (no batching
    // delay), and pino flushes what is left when the process exits.
    destination ?? pino.destination({ dest: 1, sync: false, maxWrite: COALESCE_BYTES }),
  );
}

/**
 * The same logger without redaction, for lines whose every field eviction-guard builds from typed
 * values (the audit line, audit/record.ts): none of them can hold a redacted path, and pino's
 * wildcard redaction would copy each such line before writing it.
 */
export function withoutRedaction(logger: Logger): Logger {
  return logger.child({}, { redact: [] });
}
