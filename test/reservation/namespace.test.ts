import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { webhookNamespace } from '../../src/reservation/namespace';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'webhook-namespace-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function kubeConfigIn(namespace?: string): KubeConfig {
  const config = new KubeConfig();
  config.loadFromOptions({
    clusters: [{ name: 'c', server: 'https://127.0.0.1:6443' }],
    users: [{ name: 'u' }],
    contexts: [{ name: 'ctx', cluster: 'c', user: 'u', ...(namespace ? { namespace } : {}) }],
    currentContext: 'ctx',
  });
  return config;
}

describe('webhookNamespace()', () => {
  it('takes the flag, then POD_NAMESPACE, then the service account namespace file, then the kubeconfig context, then default', () => {
    const file = path.join(dir, 'namespace');
    writeFileSync(file, 'from-file\n');
    const missing = path.join(dir, 'none');
    const kubeConfig = kubeConfigIn('from-context');
    expect(webhookNamespace({ flag: 'from-flag', env: { POD_NAMESPACE: 'from-env' }, namespaceFile: file, kubeConfig })).toEqual({ namespace: 'from-flag', from: '--reservation-namespace' });
    expect(webhookNamespace({ env: { POD_NAMESPACE: 'from-env' }, namespaceFile: file, kubeConfig })).toEqual({ namespace: 'from-env', from: 'POD_NAMESPACE' });
    expect(webhookNamespace({ env: { POD_NAMESPACE: ' ' }, namespaceFile: file, kubeConfig })).toEqual({ namespace: 'from-file', from: file });
    expect(webhookNamespace({ env: {}, namespaceFile: missing, kubeConfig })).toEqual({ namespace: 'from-context', from: 'the kubeconfig context' });
    expect(webhookNamespace({ env: {}, namespaceFile: missing, kubeConfig: kubeConfigIn() })).toEqual({ namespace: 'default', from: 'the default' });
  });
});
