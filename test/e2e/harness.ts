// What the end-to-end tests share: the answer shape, polling, the serving pair on disk and the
// options of a webhook watching the fake API server.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { createLogger } from '../../src/audit/logger';
import { startWebhook, type RunningWebhook, type ServeOptions } from '../../src/cli/serve';
import { FakeApiServer, type KubeObject } from '../fake-apiserver';
import { pdbObject, podObject } from '../helpers/objects';
import { OPERATOR_ROUTES } from '../../src/server/app';

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

export interface WebShopCluster {
  readonly fake: FakeApiServer;
  /** The webhook start() started in this test. */
  readonly webhook: RunningWebhook;
  /** Starts the webhook watching the fake (liveServeOptions with `overrides`) and waits until it has listed the cluster. */
  start(overrides?: Partial<ServeOptions>): Promise<RunningWebhook>;
}

/**
 * For each test: a fake API server holding shop/web-1 and shop/web-2 (app=web, owned by the
 * ReplicaSet web-rs) and shop/web-pdb (minAvailable 1, one disruption allowed), and the webhook the
 * test starts; both are closed after the test.
 */
export function useWebShopCluster(servingDir: { readonly path: string }): WebShopCluster {
  let fake: FakeApiServer | undefined;
  let webhook: RunningWebhook | undefined;
  beforeEach(async () => {
    fake = await FakeApiServer.start();
    for (const name of ['web-1', 'web-2']) fake.upsert(podObject('shop', name, { labels: { app: 'web' }, owner: { kind: 'ReplicaSet', name: 'web-rs' } }));
    fake.upsert(openWebPdb());
  });
  afterEach(async () => {
    await webhook?.close();
    webhook = undefined;
    await fake?.close();
  });
  return {
    get fake() {
      return fake!;
    },
    get webhook() {
      return webhook!;
    },
    async start(overrides = {}) {
      webhook = await startWebhook(liveServeOptions(servingDir.path, fake!, overrides), createLogger('silent'));
      await waitFor('the cluster to be listed', () => webhook!.cluster.isSynced());
      return webhook;
    },
  };
}

/** A plain-HTTP GET on 127.0.0.1 (the metrics listener). */
export function httpGet(port: number, urlPath: string): Promise<{ status: number; contentType?: string; text: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: urlPath, agent: false }, (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, contentType: response.headers['content-type'], text }));
      })
      .on('error', reject);
  });
}

/** The `name{labels} value` samples of a Prometheus text exposition, labels parsed. */
export function samples(text: string, name: string): { labels: Record<string, string>; value: number }[] {
  return text
    .split('\n')
    .filter((line) => line.startsWith(`${name} `) || line.startsWith(`${name}{`))
    .map((line) => {
      const match = /^[^{ ]+(?:\{(.*)\})? (\S+)$/.exec(line)!;
      const labels = Object.fromEntries([...(match[1] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map(([, key, value]) => [key, value]));
      return { labels, value: Number(match[2]) };
    });
}

/**
 * Headers with a bearer token the fake API server knows, whose user RBAC allows get on the
 * operator endpoints (through a group, as a ClusterRoleBinding of eviction-guard-reader would).
 */
export function operatorHeaders(fake: FakeApiServer, token = 'operator-token'): Record<string, string> {
  fake.auth.addToken(token, { username: 'alice@corp.example', groups: ['sre', 'system:authenticated'] });
  fake.auth.grant({ group: 'sre' }, [...OPERATOR_ROUTES]);
  return { authorization: `Bearer ${token}` };
}

/** shop/<name>, a pod of the ReplicaSet web-rs labelled app=web, with the uid `<name>-uid`. */
export function webPod(name: string): KubeObject {
  const object = podObject('shop', name, { labels: { app: 'web' }, owner: { kind: 'ReplicaSet', name: 'web-rs' } });
  object.metadata.uid = `${name}-uid`;
  return object;
}

/** shop/web-pdb over app=web at 0 disruptions: every eviction of its pods is denied with 429. */
export const exhaustedWebPdb = () =>
  pdbObject('shop', 'web-pdb', { selector: { matchLabels: { app: 'web' } }, minAvailable: 2, disruptionsAllowed: 0, currentHealthy: 2, desiredHealthy: 2 });
/** shop/web-pdb over app=web allowing one disruption. */
export const openWebPdb = () => pdbObject('shop', 'web-pdb', { selector: { matchLabels: { app: 'web' } }, minAvailable: 1, disruptionsAllowed: 1 });

