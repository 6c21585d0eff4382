import { createLogger, type Logger, type LogLevel } from '../../src/audit/logger';

export interface CapturedLog {
  logger: Logger;
  /** Parsed JSON lines written so far. */
  lines: Record<string, unknown>[];
  messages(level?: number): string[];
}

/** A real pino logger (redaction and all) writing its JSON lines into memory. */
export function captureLog(level: LogLevel = 'debug'): CapturedLog {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger(level, { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) });
  return {
    logger,
    lines,
    messages: (atLevel) => lines.filter((line) => atLevel === undefined || line.level === atLevel).map((line) => String(line.msg)),
  };
}

export const WARN = 40;
