import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeFileSync } from 'node:fs';

/**
 * Writes contents to a fresh temporary file next to filePath, created with its final mode and
 * flushed to disk, then renames it over filePath: a reader (or a watcher) sees the old file or the
 * new one, never a half-written one, and a key file is never readable by others, not even briefly.
 */
export function writeFileAtomically(filePath: string, contents: string | Buffer, mode: number): void {
  const temporaryPath = `${filePath}.${randomBytes(6).toString('hex')}.tmp`;
  const fd = openSync(temporaryPath, 'wx', mode);
  try {
    try {
      writeFileSync(fd, contents);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temporaryPath, filePath);
  } catch (error) {
    rmSync(temporaryPath, { force: true });
    throw error;
  }
}
