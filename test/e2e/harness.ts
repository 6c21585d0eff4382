// What the end-to-end tests share: the answer shape, polling, the serving pair on disk and the
// options of a webhook watching the fake API server.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ServeOptions } from '../../src/cli/serve';
import type { FakeApiServer } from '../fake-apiserver';

export interface AdmissionAnswer {
  apiVersion?: string;
  response: { uid: string; allowed: boolean; status?: { code: number; reason?: string; message: string }; warnings?: string[] };
}

export async function waitFor(what: string, condition: () => Promise<boolean> | boolean, timeoutMs = 8000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** A temporary folder holding tls.crt and tls.key, made before the file's tests and removed after them. */
export function useServingPairDir(prefix: string, pair: { cert: string; key: string }): { readonly path: string } {
  const holder = { path: '' };
  beforeAll(() => {
    holder.path = mkdtempSync(path.join(os.tmpdir(), prefix));
    writeFileSync(path.join(holder.path, 'tls.crt'), pair.cert);
    writeFileSync(path.join(holder.path, 'tls.key'), pair.key);
  });
  afterAll(() => rmSync(holder.path, { recursive: true, force: true }));
  return holder;
}

/** `serve` options for a webhook on a free port, serving the pair in `dir` and watching `fake`. */
export function liveServeOptions(dir: string, fake: FakeApiServer, overrides: Partial<ServeOptions> = {}): ServeOptions {
  return {
    port: 0,
    tlsCert: path.join(dir, 'tls.crt'),
    tlsKey: path.join(dir, 'tls.key'),
    kubeconfig: fake.writeKubeconfig(dir),
    logLevel: 'silent',
    certDir: dir,
    ...overrides,
  };
}
