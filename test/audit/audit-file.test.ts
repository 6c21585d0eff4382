// The audit file: appends, size-based rotation to PATH.1 … PATH.N, and a disk that fails.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AuditFile, rotatedFiles } from '../../src/audit/audit-file';
import { captureLog } from '../helpers/log-capture';

let dir: string;
let file: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'audit-file-'));
  file = path.join(dir, 'audit.log');
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const lines = (name: string) => (existsSync(name) ? readFileSync(name, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as { n: number }) : []);
/** Every line across PATH.keep … PATH.1, PATH: oldest first. */
const allLines = (keep: number) => [...rotatedFiles(file, keep).reverse(), file].flatMap(lines).map((line) => line.n);
const record = (n: number) => ({ n, pad: 'x'.repeat(80) });

describe('AuditFile', () => {
  it('appends one JSON line per write, readable by its owner only', () => {
    const audit = new AuditFile({ path: file, logger: captureLog().logger });
    audit.write(record(1));
    audit.write(record(2));
    audit.close();
    expect(lines(file).map((line) => line.n)).toEqual([1, 2]);
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('appends to an existing file and counts its size toward rotation', () => {
    writeFileSync(file, `${JSON.stringify(record(0))}\n`.repeat(10));
    const audit = new AuditFile({ path: file, maxBytes: 1000, keep: 2, logger: captureLog().logger });
    audit.write(record(1));
    audit.close();
    expect(lines(`${file}.1`)).toHaveLength(10);
    expect(lines(file).map((line) => line.n)).toEqual([1]);
  });

  it('rotates before a line would pass maxBytes, keeping PATH.1 (newest) … PATH.keep and no line in two files', () => {
    const audit = new AuditFile({ path: file, maxBytes: 1024, keep: 3, logger: captureLog().logger });
    const lineBytes = Buffer.byteLength(`${JSON.stringify(record(10))}\n`);
    const perFile = Math.floor(1024 / lineBytes);
    for (let n = 1; n <= perFile * 3; n++) audit.write(record(n));
    audit.close();
    for (const name of [file, ...rotatedFiles(file, 2)]) expect(statSync(name).size).toBeLessThanOrEqual(1024);
    // Three files' worth: PATH holds the last perFile lines, PATH.2 the first.
    expect(allLines(3)).toEqual(Array.from({ length: perFile * 3 }, (_, index) => index + 1));
    expect(lines(file)[0].n).toBe(perFile * 2 + 1);
    expect(existsSync(`${file}.3`)).toBe(false);
  });

  it('drops the oldest rotated file beyond keep', () => {
    const audit = new AuditFile({ path: file, maxBytes: 1024, keep: 2, logger: captureLog().logger });
    for (let n = 1; n <= 100; n++) audit.write(record(n));
    audit.close();
    expect(existsSync(`${file}.3`)).toBe(false);
    const kept = allLines(2);
    expect(kept[kept.length - 1]).toBe(100);
    expect(kept).toEqual(Array.from({ length: kept.length }, (_, index) => 100 - kept.length + 1 + index));
  });

  it('writes a line longer than maxBytes into a file of its own', () => {
    const audit = new AuditFile({ path: file, maxBytes: 1024, keep: 2, logger: captureLog().logger });
    audit.write(record(1));
    audit.write({ n: 2, pad: 'y'.repeat(3000) });
    audit.write(record(3));
    audit.close();
    expect(allLines(2)).toEqual([1, 2, 3]);
    expect(lines(`${file}.1`).map((line) => line.n)).toEqual([2]);
  });

  it('reopens the file when written after close', () => {
    const audit = new AuditFile({ path: file, logger: captureLog().logger });
    audit.write(record(1));
    audit.close();
    audit.write(record(2));
    audit.close();
    expect(lines(file).map((line) => line.n)).toEqual([1, 2]);
  });

  it('fails start-up naming the file when it cannot be opened', () => {
    expect(() => new AuditFile({ path: path.join(dir, 'missing', 'audit.log'), logger: captureLog().logger })).toThrow(
      /^cannot open the audit file .*missing\/audit\.log for appending: ENOENT/,
    );
  });

  it('keeps appending past maxBytes when rotation fails, logging it once', () => {
    const log = captureLog();
    const audit = new AuditFile({ path: file, maxBytes: 1024, keep: 1, logger: log.logger });
    audit.write(record(1));
    // PATH.1 is a directory that is not empty: renaming PATH onto it fails, for root too.
    mkdirSync(path.join(`${file}.1`, 'in-the-way'), { recursive: true });
    for (let n = 2; n <= 40; n++) expect(() => audit.write(record(n))).not.toThrow();
    audit.close();
    expect(audit.failures).toBe(0);
    expect(lines(file).map((line) => line.n)).toEqual(Array.from({ length: 40 }, (_, index) => index + 1));
    expect(log.messages(50)).toEqual(['could not rotate the audit file; appending to it past --audit-file-max-bytes']);
  });

  it('logs (once) and carries on when lines cannot be written, never throwing into the request', () => {
    const log = captureLog();
    const audit = new AuditFile({ path: file, maxBytes: 1024, keep: 1, logger: log.logger });
    audit.write(record(1));
    audit.close();
    // The file is replaced by a directory: reopening it for appending fails.
    rmSync(file);
    mkdirSync(file);
    for (let n = 2; n <= 5; n++) expect(() => audit.write(record(n))).not.toThrow();
    expect(audit.failures).toBe(4);
    expect(log.messages(50)).toEqual(['could not write to the audit file; the audit log on stdout still has every decision']);
  });
});
