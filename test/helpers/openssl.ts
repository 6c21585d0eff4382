import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Runs the openssl CLI with PEM inputs written to temporary files; returns stdout (stderr merged on failure). */
export function openssl(args: (string | { pem: string })[]): { ok: boolean; output: string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'eviction-guard-openssl-'));
  try {
    const argv = args.map((arg, index) => {
      if (typeof arg === 'string') return arg;
      const file = path.join(dir, `input-${index}.pem`);
      writeFileSync(file, arg.pem);
      return file;
    });
    try {
      return { ok: true, output: execFileSync('openssl', argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }) };
    } catch (error) {
      const failed = error as { stdout?: string; stderr?: string };
      return { ok: false, output: `${failed.stdout ?? ''}${failed.stderr ?? ''}` };
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `openssl verify` of a serving certificate against one CA, strict X.509 and the TLS server purpose. */
export function opensslVerify(caPem: string, certPem: string): { ok: boolean; output: string } {
  return openssl(['verify', '-x509_strict', '-purpose', 'sslserver', '-CAfile', { pem: caPem }, { pem: certPem }]);
}

/** `openssl x509 -text` of a certificate. */
export function opensslText(certPem: string): string {
  return openssl(['x509', '-noout', '-text', '-in', { pem: certPem }]).output;
}
