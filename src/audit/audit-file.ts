// `--audit-file PATH`: the audit trail as JSON lines in a file, rotated by size (PATH.1 is the
// newest rotated file, PATH.N the oldest kept), fsynced at each rotation and at close.
//
// Why synchronous writes, one writeSync per line, and no buffer of our own: a decision is
// audited when its answer goes out, and a line handed to writeSync is in the kernel before
// record() returns. So a SIGTERM, a SIGKILL, an uncaught exception or an OOM kill never loses a
// line the process had (only a machine crash can, before the page cache is flushed, which the
// fsync at rotation and close bounds). An append stream (fs.createWriteStream) buffers in the
// process instead, loses that buffer on any abrupt exit, and makes rotation race in-flight
// writes. The cost is small: evictions come at tens per second at worst and a ~1 KB append to a
// local file takes microseconds. The file must be on a local volume (e.g. an emptyDir or a
// hostPath): a stalled network filesystem would stall the event loop with it.
import { closeSync, existsSync, fstatSync, fsyncSync, openSync, renameSync, writeSync } from 'node:fs';
import path from 'node:path';
import { describeError } from '../cluster/errors';
import type { Logger } from './logger';

export const DEFAULT_AUDIT_FILE_MAX_BYTES = 10 * 1024 * 1024;
export const DEFAULT_AUDIT_FILE_KEEP = 5;
/** Usernames and groups are in the file: readable by its owner only. */
const FILE_MODE = 0o600;
const ERROR_LOG_INTERVAL_MS = 60_000;

export interface AuditFileOptions {
  path: string;
  /** Rotate before a line would take the file over this size. */
  maxBytes?: number;
  /** Rotated files kept: PATH.1 … PATH.keep. */
  keep?: number;
  logger: Logger;
}

/** PATH.1 … PATH.keep, newest first. */
export function rotatedFiles(file: string, keep: number): string[] {
  return Array.from({ length: keep }, (_, index) => `${file}.${index + 1}`);
}

export class AuditFile {
  readonly path: string;
  readonly maxBytes: number;
  readonly keep: number;
  private readonly logger: Logger;
  private fd: number | undefined;
  private size: number;
  private failedLines = 0;
  private lastErrorLogMs = -Infinity;
  private lastRotateErrorLogMs = -Infinity;

  /** Opens (or creates) the file for appending; throws an Error naming the file when it cannot. */
  constructor(options: AuditFileOptions) {
    this.path = path.resolve(options.path);
    this.maxBytes = options.maxBytes ?? DEFAULT_AUDIT_FILE_MAX_BYTES;
    this.keep = options.keep ?? DEFAULT_AUDIT_FILE_KEEP;
    this.logger = options.logger;
    try {
      this.fd = openSync(this.path, 'a', FILE_MODE);
      this.size = fstatSync(this.fd).size;
    } catch (error) {
      throw new Error(`cannot open the audit file ${this.path} for appending: ${describeError(error)}`, { cause: error });
    }
  }

  /** Appends one JSON line. Never throws: a failing disk is logged (at most once a minute) and counted, never fails an admission. */
  write(entry: unknown): void {
    const line = Buffer.from(`${JSON.stringify(entry)}\n`, 'utf8');
    try {
      if (this.size > 0 && this.size + line.length > this.maxBytes) this.tryRotate();
      if (this.fd === undefined) this.reopen();
      let offset = 0;
      while (offset < line.length) offset += writeSync(this.fd!, line, offset, line.length - offset);
      this.size += line.length;
    } catch (error) {
      this.failedLines++;
      const now = Date.now();
      if (now - this.lastErrorLogMs >= ERROR_LOG_INTERVAL_MS) {
        this.lastErrorLogMs = now;
        this.logger.error({ file: this.path, error: describeError(error), failedLines: this.failedLines }, 'could not write to the audit file; the audit log on stdout still has every decision');
      }
    }
  }

  /** Lines that could not be written since start. */
  get failures(): number {
    return this.failedLines;
  }

  /** Flushes the file to disk and closes it; later writes reopen it. */
  close(): void {
    if (this.fd === undefined) return;
    const fd = this.fd;
    this.fd = undefined;
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }

  /** A rotation that fails leaves the lines in PATH, past maxBytes: a line kept beats a size respected. */
  private tryRotate(): void {
    try {
      this.rotate();
    } catch (error) {
      const now = Date.now();
      if (now - this.lastRotateErrorLogMs >= ERROR_LOG_INTERVAL_MS) {
        this.lastRotateErrorLogMs = now;
        this.logger.error({ file: this.path, error: describeError(error), size: this.size }, 'could not rotate the audit file; appending to it past --audit-file-max-bytes');
      }
    }
  }

  /** PATH → PATH.1 → … → PATH.keep (the oldest is replaced), with the data and the renames on disk first. */
  private rotate(): void {
    this.close();
    const rotated = rotatedFiles(this.path, this.keep);
    for (let index = rotated.length - 1; index > 0; index--) {
      if (existsSync(rotated[index - 1])) renameSync(rotated[index - 1], rotated[index]);
    }
    renameSync(this.path, rotated[0]);
    syncDirectory(path.dirname(this.path));
    this.reopen();
  }

  private reopen(): void {
    this.fd = openSync(this.path, 'a', FILE_MODE);
    this.size = fstatSync(this.fd).size;
  }
}

/** Makes renames durable. Some filesystems refuse to fsync a directory; the rename has happened anyway. */
function syncDirectory(directory: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(directory, 'r');
    fsyncSync(fd);
  } catch {
    // best effort
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
